"""ClassLink OneRoster v1p1 reads, page by page (classlink-facts.md part B).

Two connection modes (B2): ClassLink's OneRoster proxy with the district's bearer, or the
district's Roster Server directly with OAuth 1.0a HMAC-SHA256 two-legged signatures (oauthlib).

One page is one request: `limit` (up to 10,000), `offset`, `sort=sourcedId`, and `fields=` with
only what we store. A page is checked before anyone sees it: a 200 must be JSON with the
collection's envelope key holding a list (B5: never read a success-shaped failure as an empty
page); `x-total-count` and `x-perm-rev` are read when present (B3) so the caller can check the
pull is complete and consistent.

Retries (B5): 429 and 5xx are retried with capped exponential backoff and jitter, honouring
Retry-After; the policy is urllib3's `Retry`. The loop that applies it is ours, not the
session adapter's, because an OAuth 1.0a request must be signed again for each attempt (a new
nonce and timestamp; a server that saw the first attempt refuses a replayed nonce). A 502
halves the page size (B5: "502s usually mean the page is too heavy"). A 401 asks the caller for
fresh credentials once (a rotated bearer, B5), and otherwise raises `AccessRevoked`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client
from urllib3.exceptions import MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from smartpass.classlink.http import ClassLinkError, new_session

ONEROSTER_PATH = "/ims/oneroster/v1p1"
MAX_PAGE_SIZE = 10_000
MIN_PAGE_SIZE = 10
# 429 and every 5xx but 502, which first halves the page (B5).
RETRY_STATUSES = frozenset({429, *range(500, 600)} - {502})
INVALID_BODY_RETRIES = 2
DEADLINE_MARGIN_SECONDS = 1.0  # kept free at the end of an invocation to save a checkpoint
MIN_READ_SECONDS = 0.5


class AccessRevoked(ClassLinkError):
    """ClassLink refused our credentials (401) even after they were read again."""


class InvalidResponse(ClassLinkError):
    """A 200 that is not the JSON page it should be (no envelope, truncated, not JSON)."""


class OutOfTime(ClassLinkError):
    """The next wait or read would not end before the caller's deadline. Nothing was lost: the
    caller checkpoints and carries on in a new invocation."""


@dataclass(frozen=True)
class ProxyConnection:
    """ClassLink's OneRoster proxy (B2.2): the application id is used verbatim (already escaped)."""

    proxy_url: str
    application_id: str
    bearer: str = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"{self.proxy_url.rstrip('/')}/{self.application_id}{ONEROSTER_PATH}"

    def sign(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = f"Bearer {self.bearer}"


@dataclass(frozen=True)
class OAuth1Connection:
    """A district's Roster Server (B2.1). `endpoint_url` is what /applications/{id}/server
    returns: the host (C3), or a URL that already ends with the OneRoster path."""

    endpoint_url: str
    client_id: str
    client_secret: str = field(repr=False)

    @property
    def base_url(self) -> str:
        url = self.endpoint_url.rstrip("/")
        return url if url.endswith(ONEROSTER_PATH) else url + ONEROSTER_PATH

    def sign(self, request: requests.PreparedRequest) -> None:
        # ClassLink's own libraries sign with HMAC-SHA256, query parameters included (B2.1).
        client = Client(
            self.client_id, client_secret=self.client_secret, signature_method=SIGNATURE_HMAC_SHA256
        )
        assert request.url is not None
        _, headers, _ = client.sign(request.url, http_method=request.method or "GET")
        request.headers["Authorization"] = headers["Authorization"]


Connection = ProxyConnection | OAuth1Connection


@dataclass
class Page:
    rows: list[Any]
    offset: int
    limit: int
    total: int | None  # x-total-count, when the server sends it
    perm_rev: str | None  # x-perm-rev, when the server sends it
    # The OneRoster `Link` header (B3: next, last, first, prev), when the server sends one: the
    # offset its `next` link names, or None on the last page.
    linked: bool = False
    next_offset: int | None = None

    @property
    def following_offset(self) -> int:
        """Where the next page starts: what the server's `next` link says, else this page's
        offset plus the rows that arrived (a server may cap pages below the limit asked for)."""
        if self.next_offset is not None and self.next_offset > self.offset:
            return self.next_offset
        return self.offset + len(self.rows)


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    page_size_halvings: int = 0
    credential_refreshes: int = 0


@dataclass
class RetryPolicy:
    """urllib3's Retry, built fresh for each page so every page has the full budget."""

    max_retries: int = 5
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 32.0
    retry_after_max_seconds: int = 120

    def new(self, statuses: frozenset[int] = RETRY_STATUSES) -> Retry:
        return Retry(
            total=self.max_retries,
            connect=self.max_retries,
            read=self.max_retries,
            status=self.max_retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=statuses,
            backoff_factor=self.backoff_seconds,
            backoff_max=self.backoff_max_seconds,
            backoff_jitter=self.backoff_seconds,
            respect_retry_after_header=True,
            retry_after_max=self.retry_after_max_seconds,
            raise_on_status=False,
        )


class OneRosterClient:
    """Reads one district. Knows ClassLink's wire format, nothing of our domain."""

    def __init__(
        self,
        connection: Connection,
        *,
        refresh_connection: Callable[[], Connection | None] | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        time_left: Callable[[], float] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`time_left` (seconds) is the caller's deadline: no read timeout or retry wait is
        allowed to run past it (less a margin to save a checkpoint); OutOfTime is raised instead."""
        self.connection = connection
        self._time_left = time_left
        self._refresh_connection = refresh_connection
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._session = session or new_session()
        self._sleep = sleep
        self.stats = RequestStats()

    def page(
        self, endpoint: str, envelope: str, *, offset: int, limit: int, fields: Sequence[str] = ()
    ) -> Page:
        """One page of a collection, sorted by sourcedId. A 502 halves `limit`; the page
        returned says which limit was used, and the caller keeps using it."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        params: dict[str, str | int] = {
            "limit": limit,
            "offset": offset,
            "sort": "sourcedId",
            "orderBy": "asc",
        }
        if fields:
            params["fields"] = ",".join(fields)
        bad_bodies = 0
        while True:
            # At the smallest page a 502 is retried like any 5xx.
            statuses = RETRY_STATUSES if limit > MIN_PAGE_SIZE else RETRY_STATUSES | {502}
            response = self._get(f"/{endpoint}", params, statuses)
            if response.status_code == 502 and limit > MIN_PAGE_SIZE:
                limit = max(MIN_PAGE_SIZE, limit // 2)
                params["limit"] = limit
                self.stats.page_size_halvings += 1
                self.stats.retries += 1
                continue
            if response.status_code != 200:
                raise ClassLinkError(
                    f"OneRoster /{endpoint} answered {response.status_code}", response.status_code
                )
            try:
                rows = _envelope(response, endpoint, envelope)
            except InvalidResponse:
                # A garbled 200 is never an empty page; asked again, it is usually whole.
                bad_bodies += 1
                if bad_bodies > INVALID_BODY_RETRIES:
                    raise
                self.stats.retries += 1
                continue
            return Page(
                rows=rows,
                offset=offset,
                limit=limit,
                total=_int_header(response, "x-total-count"),
                perm_rev=response.headers.get("x-perm-rev"),
                linked="link" in response.headers,
                next_offset=_next_offset(response),
            )

    def _get(self, path: str, params: dict[str, str | int], statuses: frozenset[int]) -> requests.Response:
        """One logical GET: retried by the Retry policy, re-signed on every attempt, with one
        credential refresh on a 401."""
        retry = self._retry.new(statuses)
        refreshed = False
        while True:
            request = requests.Request("GET", self.connection.base_url + path, params=params)
            prepared = self._session.prepare_request(request)
            self.connection.sign(prepared)
            self.stats.requests += 1
            try:
                response = self._session.send(prepared, timeout=self._timeouts(), allow_redirects=False)
            except requests.RequestException as exc:
                retry = self._next(retry, prepared, error=exc)
                self._wait(retry.get_backoff_time())
                continue
            if response.status_code == 401:
                fresh = None if refreshed or self._refresh_connection is None else self._refresh_connection()
                refreshed = True
                if fresh is not None and fresh != self.connection:
                    self.connection = fresh
                    self.stats.credential_refreshes += 1
                    continue
                raise AccessRevoked(f"OneRoster {path} refused our credentials (401)", 401)
            if not retry.is_retry("GET", response.status_code, "Retry-After" in response.headers):
                return response
            retry = self._next(retry, prepared, response=response)
            try:
                retry_after = retry.get_retry_after(response.raw) if response.raw is not None else None
            except ValueError:  # urllib3's InvalidHeader: an unreadable Retry-After
                retry_after = None
            self._wait(retry_after if retry_after is not None else retry.get_backoff_time())

    def _left(self) -> float:
        return float("inf") if self._time_left is None else self._time_left() - DEADLINE_MARGIN_SECONDS

    def _timeouts(self) -> tuple[float, float]:
        left = self._left()
        if left < MIN_READ_SECONDS:
            raise OutOfTime("no time left for another OneRoster request in this invocation")
        return (min(self._timeout[0], left), min(self._timeout[1], left))

    def _wait(self, seconds: float) -> None:
        if seconds > self._left() - MIN_READ_SECONDS:
            raise OutOfTime(
                f"ClassLink asked us to wait {seconds:.0f} s, longer than this invocation has left"
            )
        self._sleep(seconds)

    def _next(
        self,
        retry: Retry,
        prepared: requests.PreparedRequest,
        *,
        response: requests.Response | None = None,
        error: requests.RequestException | None = None,
    ) -> Retry:
        path = (prepared.path_url or "").split("?", 1)[0]
        try:
            # A requests-level failure (refused, reset, timed out, dropped) counts as a read
            # error to Retry; the GET is idempotent, so re-sending it is safe.
            new = retry.increment(
                "GET",
                path,
                response=response.raw if response is not None else None,
                error=ProtocolError(type(error).__name__) if error is not None else None,
            )
        except MaxRetryError:
            what = (
                f"answered {response.status_code}"
                if response is not None
                else f"unreachable ({type(error).__name__})"
            )
            status = response.status_code if response is not None else None
            raise ClassLinkError(
                f"OneRoster {path} {what} after {len(retry.history)} retries", status
            ) from None
        self.stats.retries += 1
        return new


def _envelope(response: requests.Response, endpoint: str, envelope: str) -> list[Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise InvalidResponse(f"OneRoster /{endpoint} returned invalid JSON", 200) from None
    rows = body.get(envelope) if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise InvalidResponse(f"OneRoster /{endpoint} returned no {envelope!r} array", 200)
    # Rows that are not objects stay in the page: the caller reports them as invalid records.
    return rows


def _next_offset(response: requests.Response) -> int | None:
    url = response.links.get("next", {}).get("url")
    if not url:
        return None
    try:
        return int(parse_qs(urlsplit(url).query)["offset"][0])
    except (KeyError, ValueError):
        return None


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
