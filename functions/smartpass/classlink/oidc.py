"""ClassLink's OpenID Connect side: discovery, the code exchange, the id_token check, my/info.

Everything about ClassLink's endpoints and issuer is read from its discovery document
(classlink-facts A1): the authorize, token and JWKS URLs and the issuer are never assumed. The
id_token is RS256 only (A1: the only alg discovery lists); it is checked for issuer, audience,
expiry and, when we sent one, nonce. Keys are cached and fetched again at once when a token names
a `kid` we do not know (a rotation), one fetch at a time and not again within a few seconds (so
forged kids cannot make us hammer the JWKS endpoint). The token endpoint's client authentication
is the one discovery lists (client_secret_basic first, as RFC 6749 §2.3.1 prefers). my/info is
the source of identity (A4, A5: which `classLink_*` claims an
id_token carries is not documented). Errors carry a reason code and never a token.
"""

from __future__ import annotations

import base64
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smartpass.classlink.http import ClassLinkError, get_json_object, new_session

TIMEOUT = (2.05, 4.0)  # connect, read: four calls at most fit the SSO function's 29 s
LEEWAY_SECONDS = 60
# An unknown `kid` (ClassLink rotated its key) fetches the JWKS again at once, unless the last
# fetch was this recent: forged kids cannot make us hammer ClassLink, and a real rotation does not
# refuse every sign-in on a warm function for a minute.
JWKS_REFRESH_MIN_SECONDS = 5.0
DISCOVERY_MAX_AGE_SECONDS = 3600.0
JWKS_MAX_AGE_SECONDS = 3600.0
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class InvalidIdToken(ValueError):
    """The id_token is not one ClassLink issued for this sign-in. `reason` is a short code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CodeRejected(ClassLinkError):
    """ClassLink refused the authorization code (used already, expired, or not ours)."""


class ClientRejected(ClassLinkError):
    """ClassLink refused our client (`invalid_client`, `unauthorized_client`): our configuration
    (the client id or secret, the authentication method), not the person's sign-in."""


# OIDC Discovery 1.0 §3: when a provider lists no methods, client_secret_basic is the default.
DEFAULT_TOKEN_AUTH_METHODS = ("client_secret_basic",)
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
CLIENT_ERRORS = ("invalid_client", "unauthorized_client")


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods: tuple[str, ...] = DEFAULT_TOKEN_AUTH_METHODS


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    id_token: str = field(repr=False)


class MyInfo(BaseModel):
    """`/v2/my/info` (A5): PascalCase; TenantId and UserId integers, SourcedId a string that is
    empty for districts without OneRoster."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: str = Field(alias="UserId")
    tenant_id: str = Field(alias="TenantId")
    sourced_id: str = Field(default="", alias="SourcedId")
    role: str = Field(default="", alias="Role")

    @field_validator("user_id", "tenant_id", mode="before")
    @classmethod
    def _id_as_string(cls, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
            raise ValueError("must be an integer or a non-empty string")
        return str(value).strip()

    @field_validator("sourced_id", mode="before")
    @classmethod
    def _sourced_id(cls, value: object) -> str:
        return "" if value is None else str(value).strip()


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", ""))[:40] if isinstance(body, dict) else ""


class OidcClient:
    def __init__(self, issuer_url: str, nodeapi_url: str, session: requests.Session | None = None) -> None:
        self._issuer_url = issuer_url.rstrip("/")
        self._nodeapi_url = nodeapi_url.rstrip("/")
        self._session = session or new_session()
        self._lock = threading.Lock()
        self._discovery: tuple[float, Discovery] | None = None
        self._keys: dict[str, Any] = {}
        self._keys_fetched_at = float("-inf")  # the keys' age (withdrawn keys expire)
        self._jwks_tried_at = float("-inf")  # the last fetch, answered or not (the pace)
        self._jwks_fetch = threading.Lock()  # one JWKS fetch in flight at a time
        self._working_auth: str | None = None

    # ------------------------------------------------------------------ discovery and keys
    def discovery(self) -> Discovery:
        with self._lock:
            if self._discovery and time.monotonic() - self._discovery[0] < DISCOVERY_MAX_AGE_SECONDS:
                return self._discovery[1]
        body = self._get_json(f"{self._issuer_url}/.well-known/openid-configuration", "discovery")
        methods = body.get("token_endpoint_auth_methods_supported")
        try:
            found = Discovery(
                **{
                    k: str(body[k])
                    for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
                },
                token_endpoint_auth_methods=(
                    tuple(str(m) for m in methods)
                    if isinstance(methods, list)
                    else DEFAULT_TOKEN_AUTH_METHODS
                ),
            )
        except KeyError as exc:
            raise ClassLinkError(f"ClassLink discovery lacks {exc.args[0]}") from None
        # OIDC Discovery 4.3: the document must name the issuer we asked; its endpoints are
        # https (http only on a loopback host, as the local sandbox is).
        if found.issuer.rstrip("/") != self._issuer_url:
            raise ClassLinkError("ClassLink discovery names another issuer")
        for url in (found.authorization_endpoint, found.token_endpoint, found.jwks_uri):
            parts = urlsplit(url)
            if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
                raise ClassLinkError("ClassLink discovery names an endpoint that is not https")
        with self._lock:
            self._discovery = (time.monotonic(), found)
        return found

    def _signing_key(self, kid: str) -> Any:
        key = self._cached_key(kid, JWKS_MAX_AGE_SECONDS)
        if key is not None:
            return key
        with self._jwks_fetch:
            # Another thread may have fetched the keys while this one waited: use them if so.
            key = self._cached_key(kid, JWKS_MAX_AGE_SECONDS)
            if key is not None:
                return key
            with self._lock:
                recent = time.monotonic() - self._jwks_tried_at < JWKS_REFRESH_MIN_SECONDS
            if recent:
                # Perhaps ClassLink's new key, published since our fetch seconds ago: a transient
                # refusal (its page says to try again), not a forgery verdict.
                raise InvalidIdToken("unknown_kid_refresh_wait")
            try:
                return self._fetch_keys(kid)
            finally:  # a failing JWKS endpoint is not asked more often than a working one
                with self._lock:
                    self._jwks_tried_at = time.monotonic()

    def _cached_key(self, kid: str, max_age: float) -> Any:
        with self._lock:
            # Keys ClassLink withdraws stop being trusted within JWKS_MAX_AGE_SECONDS.
            fresh = time.monotonic() - self._keys_fetched_at < max_age
            return self._keys.get(kid) if fresh else None

    def _fetch_keys(self, kid: str) -> Any:
        body = self._get_json(self.discovery().jwks_uri, "JWKS")
        try:
            # Signing keys only: RSA, and not marked for encryption.
            keys = {
                k.key_id: k.key
                for k in jwt.PyJWKSet.from_dict(body).keys
                if k.key_id and k.key_type == "RSA" and k.public_key_use in (None, "sig")
            }
        except (jwt.PyJWKSetError, jwt.InvalidKeyError):
            raise ClassLinkError("ClassLink's JWKS could not be read") from None
        with self._lock:
            self._keys, self._keys_fetched_at = keys, time.monotonic()
        if kid not in keys:
            raise InvalidIdToken("unknown_kid")
        return keys[kid]

    # ------------------------------------------------------------------ the sign-in
    def _auth_methods(self, discovery: Discovery) -> list[str]:
        """client_secret_basic first when listed (RFC 6749 §2.3.1: every server must take it),
        then client_secret_post; the one that worked last, first."""
        listed: list[str] = [m for m in CLIENT_AUTH_METHODS if m in discovery.token_endpoint_auth_methods]
        if self._working_auth in listed:
            listed.remove(self._working_auth)
            listed.insert(0, self._working_auth)
        return listed

    def _token_request(
        self, url: str, form: dict[str, str], method: str, client_id: str, client_secret: str
    ) -> requests.Response:
        body, headers = dict(form), dict[str, str]()
        if method == "client_secret_basic":  # RFC 6749 §2.3.1: each part form-encoded first
            pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            body.update(client_id=client_id, client_secret=client_secret)
        try:
            # Never follow a redirect: it would send the client secret somewhere else.
            return self._session.post(url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise ClassLinkError(f"ClassLink token endpoint unreachable: {type(exc).__name__}") from None

    def exchange(
        self, code: str, client_id: str, client_secret: str, redirect_uri: str, code_verifier: str | None
    ) -> Tokens:
        discovery = self.discovery()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        methods = self._auth_methods(discovery)
        if not methods:
            raise ClientRejected("ClassLink's token endpoint lists no client authentication SmartPass uses")
        for method in methods:
            response = self._token_request(discovery.token_endpoint, form, method, client_id, client_secret)
            refused_client = response.status_code in (400, 401) and _oauth_error(response) in CLIENT_ERRORS
            if not refused_client:
                self._working_auth = method  # kept for the warm function
                break
            # A provider may list a method it does not take as we send it: the other one listed
            # is tried once before the refusal stands (classlink-facts A1 lists both).
        if response.status_code in (400, 401) and _oauth_error(response) in CLIENT_ERRORS:
            # our configuration (the client id or secret), not the person's sign-in
            raise ClientRejected(
                f"ClassLink token endpoint refused our client: {_oauth_error(response)}", response.status_code
            )
        if response.status_code in (400, 401):
            # invalid_grant, invalid_request...: this sign-in's code, not our client
            raise CodeRejected(f"ClassLink refused the code ({response.status_code})", response.status_code)
        if response.status_code != 200:
            raise ClassLinkError(
                f"ClassLink token endpoint answered {response.status_code}", response.status_code
            )
        try:
            body = response.json()
            return Tokens(access_token=str(body["access_token"]), id_token=str(body["id_token"]))
        except (ValueError, KeyError, TypeError):
            raise ClassLinkError("ClassLink token endpoint returned no tokens") from None

    def verify_id_token(self, id_token: str, audience: str, nonce: str | None) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.DecodeError:
            raise InvalidIdToken("malformed") from None
        if header.get("alg") != "RS256":
            raise InvalidIdToken("algorithm_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidIdToken("no_kid")
        key = self._signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=["RS256"],
                audience=audience,
                issuer=self.discovery().issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidIdToken("expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidIdToken("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidIdToken("wrong_issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidIdToken("bad_signature") from None
        except jwt.PyJWTError:
            raise InvalidIdToken("invalid") from None
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise InvalidIdToken("wrong_nonce")
        return claims

    def my_info(self, access_token: str) -> MyInfo:
        body = self._get_json(f"{self._nodeapi_url}/v2/my/info", "my/info", bearer=access_token)
        try:
            return MyInfo.model_validate(body)
        except ValidationError:
            raise ClassLinkError("ClassLink my/info lacks UserId or TenantId") from None

    def _get_json(self, url: str, name: str, bearer: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return get_json_object(self._session, url, f"ClassLink {name}", headers=headers, timeout=TIMEOUT)
