"""ClassLink's OpenID Connect side: discovery, the code exchange, the id_token check, my/info.

Everything about ClassLink's endpoints and issuer is read from its discovery document
(classlink-facts A1): the authorize, token and JWKS URLs and the issuer are never assumed. The
id_token is RS256 only (A1: the only alg discovery lists); it is checked for issuer, audience,
expiry and, when we sent one, nonce. Keys are cached and fetched again once when a token names a
`kid` we do not know (a rotation), at most once a minute (so forged kids cannot make us hammer
the JWKS endpoint). my/info is the source of identity (A4, A5: which `classLink_*` claims an
id_token carries is not documented). Errors carry a reason code and never a token.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smartpass.classlink.http import ClassLinkError, get_json_object, new_session

TIMEOUT = (2.05, 4.0)  # connect, read: four calls at most fit the SSO function's 29 s
LEEWAY_SECONDS = 60
JWKS_REFRESH_MIN_SECONDS = 60.0
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


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


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
        self._keys_fetched_at = 0.0

    # ------------------------------------------------------------------ discovery and keys
    def discovery(self) -> Discovery:
        with self._lock:
            if self._discovery and time.monotonic() - self._discovery[0] < DISCOVERY_MAX_AGE_SECONDS:
                return self._discovery[1]
        body = self._get_json(f"{self._issuer_url}/.well-known/openid-configuration", "discovery")
        try:
            found = Discovery(**{k: str(body[k]) for k in Discovery.__dataclass_fields__})
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
        with self._lock:
            age = time.monotonic() - self._keys_fetched_at
            # Keys ClassLink withdraws stop being trusted within JWKS_MAX_AGE_SECONDS.
            key = self._keys.get(kid) if age < JWKS_MAX_AGE_SECONDS else None
            may_refresh = age >= JWKS_REFRESH_MIN_SECONDS
        if key is not None:
            return key
        if not may_refresh and self._keys:
            raise InvalidIdToken("unknown_kid")
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
    def exchange(
        self, code: str, client_id: str, client_secret: str, redirect_uri: str, code_verifier: str | None
    ) -> Tokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        try:
            # Never follow a redirect: it would send the client secret somewhere else.
            response = self._session.post(
                self.discovery().token_endpoint, data=form, timeout=TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise ClassLinkError(f"ClassLink token endpoint unreachable: {type(exc).__name__}") from None
        if response.status_code in (400, 401) and _oauth_error(response) in ("invalid_grant", ""):
            raise CodeRejected(f"ClassLink refused the code ({response.status_code})", response.status_code)
        if response.status_code in (400, 401):
            # invalid_client and the like: our configuration, not the person's sign-in.
            raise ClassLinkError(
                f"ClassLink token endpoint refused our client: {_oauth_error(response)}", response.status_code
            )
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
