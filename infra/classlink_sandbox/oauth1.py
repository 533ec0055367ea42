"""OAuth 1.0a two-legged signature checks for direct Roster Server calls.

classlink-facts B2.1: ClassLink's own libraries sign with HMAC-SHA256 over the method, the base
URL and every query parameter plus the oauth_* parameters (sorted, each percent-encoded), keyed
by `urlencode(secret) + "&"`; no oauth_token, no oauth_version. psd401 signs live with HMAC-SHA1
plus oauth_version=1.0, so both methods are accepted (E7 is open). Timestamps are accepted 10
minutes into the past and 5 into the future (Instructure's tolerance, B2.1); a nonce is single use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, unquote

PAST_SKEW_SECONDS = 600
FUTURE_SKEW_SECONDS = 300
METHODS = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}


class OAuth1Error(Exception):
    """Why a request was refused; goes into the 401 body (never the secret or signature)."""


def encode(value: str) -> str:
    return quote(value, safe="-._~")


def parse_header(header: str) -> dict[str, str]:
    if not header.startswith("OAuth "):
        raise OAuth1Error("Authorization header is not an OAuth 1.0a header")
    params = {}
    for part in header[6:].split(","):
        if "=" not in part:
            continue
        key, _, value = part.strip().partition("=")
        params[key.strip()] = unquote(value.strip().strip('"'))
    return params


def base_string(method: str, base_url: str, params: list[tuple[str, str]]) -> str:
    normalized = "&".join(f"{k}={v}" for k, v in sorted((encode(k), encode(v)) for k, v in params))
    return "&".join((method.upper(), encode(base_url), encode(normalized)))


def sign(method_name: str, secret: str, text: str) -> str:
    digest = METHODS[method_name]
    key = f"{encode(secret)}&".encode()
    return base64.b64encode(hmac.new(key, text.encode(), digest).digest()).decode()


class Verifier:
    def __init__(
        self, secret_for_key: Callable[[str], str | None], clock: Callable[[], float] = time.time
    ) -> None:
        self._secret_for_key = secret_for_key
        self._clock = clock
        self._seen: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def verify(self, method: str, base_url: str, raw_query: str, header: str) -> str:
        """Return the consumer key of a correctly signed request, or raise OAuth1Error."""
        oauth = parse_header(header)
        for required in (
            "oauth_consumer_key",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
        ):
            if not oauth.get(required):
                raise OAuth1Error(f"missing {required}")
        method_name = oauth["oauth_signature_method"]
        if method_name not in METHODS:
            raise OAuth1Error(f"unsupported signature method {method_name}")
        secret = self._secret_for_key(oauth["oauth_consumer_key"])
        if secret is None:
            raise OAuth1Error("unknown consumer key")
        try:
            timestamp = int(oauth["oauth_timestamp"])
        except ValueError:
            raise OAuth1Error("oauth_timestamp is not an integer") from None
        now = self._clock()
        if timestamp < now - PAST_SKEW_SECONDS or timestamp > now + FUTURE_SKEW_SECONDS:
            raise OAuth1Error("oauth_timestamp is outside the accepted window")
        params = parse_qsl(raw_query, keep_blank_values=True)
        params += [(k, v) for k, v in oauth.items() if k.startswith("oauth_") and k != "oauth_signature"]
        expected = sign(method_name, secret, base_string(method, base_url, params))
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            raise OAuth1Error("signature does not match")
        self._remember_nonce(oauth["oauth_consumer_key"], oauth["oauth_nonce"], oauth["oauth_timestamp"], now)
        return oauth["oauth_consumer_key"]

    def _remember_nonce(self, key: str, nonce: str, timestamp: str, now: float) -> None:
        with self._lock:
            for seen_key, seen_at in list(self._seen.items()):
                if seen_at < now - PAST_SKEW_SECONDS - FUTURE_SKEW_SECONDS:
                    del self._seen[seen_key]
            if (key, nonce, timestamp) in self._seen:
                raise OAuth1Error("oauth_nonce was already used")
            self._seen[(key, nonce, timestamp)] = now
