"""SmartPass sessions: a short-lived RS256 JWT, handed to the browser only through a single-use
login code (so no token ever sits in a URL, a history entry or a Referer), exchanged by
`POST /sso/session`. The signing key comes from Secrets Manager with its `kid`; the public keys
are published at `/.well-known/jwks.json`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from smartpass.data.base import utcnow
from smartpass.data.changes import equals, greater
from smartpass.data.login import LoginCode
from smartpass.data.stores import Stores
from smartpass.sso.identity import Person

SESSION_TTL = timedelta(minutes=15)
# Who a session is for: the app checks it, so no other token signed with the same key (a
# district status link, say) can pass for a session, nor a session for one of those.
SESSION_AUDIENCE = "smartpass-app"
LOGIN_CODE_TTL = timedelta(seconds=60)


CODE_COOKIE_PREFIX = "sp_code_"


class LoginCodeRejected(ValueError):
    """Unknown, used, expired or not this client's login code. One message for all: no oracle."""


@dataclass(frozen=True)
class IssuedCode:
    code: str
    cookie_value: str | None = field(default=None, repr=False)  # None: bound by PKCE

    @property
    def cookie_name(self) -> str:
        return code_cookie_name(self.code)


def code_cookie_name(code: str) -> str:
    """One cookie per code, so a second sign-in in another tab does not spoil the first."""
    return CODE_COOKIE_PREFIX + hashlib.sha256(code.encode()).hexdigest()[:16]


def s256(verifier: str) -> str:
    """RFC 7636's S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: RSAPrivateKey = field(repr=False)

    @classmethod
    def from_secret(cls, secret: dict[str, Any]) -> SigningKey:
        key = serialization.load_pem_private_key(str(secret["private_key_pem"]).encode(), password=None)
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("the session signing key must be RSA")
        return cls(kid=str(secret["kid"]), private_key=key)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


@dataclass(frozen=True)
class SigningKeys:
    """The key that signs now and, after a rotation (a new version of the secret, with a new
    `kid`), the one before it. The previous key signs nothing more but is still trusted for what
    it signed: sessions (15 minutes) and district links (14 days) made just before a rotation
    stay valid, and verifiers find both keys in our JWKS."""

    current: SigningKey
    previous: SigningKey | None = None

    @classmethod
    def from_secrets(cls, current: dict[str, Any], previous: dict[str, Any] | None) -> SigningKeys:
        signing = SigningKey.from_secret(current)
        before = SigningKey.from_secret(previous) if previous else None
        # A re-put under the same kid is not a rotation: one kid names one key in a JWKS.
        return cls(signing, before if before is not None and before.kid != signing.kid else None)

    def find(self, kid: object) -> SigningKey | None:
        return next(
            (key for key in (self.current, self.previous) if key is not None and key.kid == kid), None
        )

    def public_jwks(self) -> list[dict[str, Any]]:
        return [key.public_jwk() for key in (self.current, self.previous) if key is not None]

    def public(self) -> PublicKeys:
        return PublicKeys.from_jwks({"keys": self.public_jwks()})


@dataclass(frozen=True)
class PublicKeys:
    """Keys that verify and cannot sign: what a function that only checks tokens is given."""

    by_kid: dict[str, RSAPublicKey]

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> PublicKeys:
        keys: dict[str, RSAPublicKey] = {}
        for jwk in jwks.get("keys", []):
            if isinstance(jwk, dict) and jwk.get("kty") == "RSA" and jwk.get("kid") and "d" not in jwk:
                key = RSAAlgorithm.from_jwk(jwk)
                if isinstance(key, RSAPublicKey):
                    keys[str(jwk["kid"])] = key
        return cls(keys)

    def find(self, kid: object) -> RSAPublicKey | None:
        return self.by_kid.get(kid) if isinstance(kid, str) else None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue_login_code(stores: Stores, person: Person, code_challenge: str | None = None) -> IssuedCode:
    """A one-time code bound to the client that finished the login: by PKCE when it started the
    login with a challenge, else by a random value the callback sets as a cookie in that
    browser (only its SHA-256 is stored)."""
    code = secrets.token_urlsafe(32)
    cookie = None if code_challenge else secrets.token_urlsafe(32)
    stores.login_codes.add(
        LoginCode(
            code_hash=_hash(code),
            tenant_id=person.tenant_id,
            sourced_id=person.sourced_id,
            role=person.role,
            school_ids=list(person.school_ids),
            binding_hash=_hash(cookie) if cookie else None,
            code_challenge=code_challenge,
            expires_at=utcnow() + LOGIN_CODE_TTL,
        )
    )
    return IssuedCode(code, cookie)


# RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~].
CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def _bound_to_this_client(login: LoginCode, cookie: str | None, code_verifier: str | None) -> bool:
    if login.code_challenge:
        if not code_verifier or not CODE_VERIFIER.fullmatch(code_verifier):
            return False
        return hmac.compare_digest(s256(code_verifier), login.code_challenge)
    if login.binding_hash:
        return bool(cookie) and hmac.compare_digest(_hash(str(cookie)), login.binding_hash)
    return False  # a code bound to nobody is redeemed by nobody


def redeem_login_code(
    stores: Stores,
    code: str,
    key: SigningKey,
    issuer: str,
    *,
    cookie: str | None = None,
    code_verifier: str | None = None,
) -> str:
    """The session token for a login code, once, and only for the client that finished the login:
    the browser holding the code's cookie, or the client holding the PKCE verifier. Login CSRF:
    an attacker who stops at the redirect and sends the victim the app link with the attacker's
    code gets nothing, since the victim's browser has no cookie for that code. A failed binding
    does not spend the code."""
    if not code or len(code) > 128 or len(code_verifier or "") > 128:
        raise LoginCodeRejected("unknown, used or expired login code")
    login = stores.login_codes.get(_hash(code))
    now = utcnow()
    if login is None or login.consumed or login.expires_at <= now:
        raise LoginCodeRejected("unknown, used or expired login code")
    if not _bound_to_this_client(login, cookie, code_verifier):
        raise LoginCodeRejected("unknown, used or expired login code")
    # Marked used only if no one redeemed it since the read, and not after it expired.
    if not stores.login_codes.update(
        login, {"consumed": True}, [equals("consumed", False), greater("expires_at", now)]
    ):
        raise LoginCodeRejected("unknown, used or expired login code")
    return sign_session(
        key,
        issuer,
        SESSION_AUDIENCE,
        SessionFor(
            login.tenant_id, login.sourced_id, login.role, tuple(str(s) for s in login.school_ids or ())
        ),
        now,
    )


@dataclass(frozen=True)
class SessionFor:
    """Who a session is for, as its claims say."""

    tenant_id: str
    sourced_id: str
    role: str
    school_ids: tuple[str, ...] = ()


class SessionRejected(ValueError):
    """A token that is not a session for this audience: forged, tampered, expired, another
    audience's. `expired` tells a stale one apart (a page may say "sign in again")."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def sign_session(key: SigningKey, issuer: str, audience: str, who: SessionFor, now: datetime) -> str:
    """A session JWT for `audience`: the app's (SESSION_AUDIENCE) or a page of ours that signs
    people in through ClassLink (the district holds page has one of its own)."""
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": f"{who.tenant_id}|{who.sourced_id}",
        "tenant_id": who.tenant_id,
        "sourced_id": who.sourced_id,
        "role": who.role,
        "school_ids": list(who.school_ids),
        "iat": int(now.timestamp()),
        "exp": int((now + SESSION_TTL).timestamp()),
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def verify_session(token: str, keys: PublicKeys, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of a session made for `audience` by one of `keys`, or SessionRejected."""
    if not token or len(token) > 4096:
        raise SessionRejected(expired=False)
    try:
        key = keys.find(jwt.get_unverified_header(token).get("kid"))
        if key is None:
            raise SessionRejected(expired=False)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["iss", "aud", "sub", "iat", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise SessionRejected(expired=True) from None
    except jwt.PyJWTError:
        raise SessionRejected(expired=False) from None
    if not all(
        isinstance(claims.get(name), str) and claims[name] for name in ("tenant_id", "sourced_id", "jti")
    ):
        raise SessionRejected(expired=False)
    if claims["sub"] != f"{claims['tenant_id']}|{claims['sourced_id']}":
        raise SessionRejected(expired=False)
    return claims
