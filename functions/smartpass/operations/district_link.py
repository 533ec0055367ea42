"""The district's own status link: a signed, expiring token in the URL of the district page, sent
in the district's sync report, so a district IT admin sees their last sync and what to fix
without an account.

The token is an RS256 JWT signed with the session signing key (its `kid` in the header), with
an audience of its own (sessions have theirs), so it never passes for a session and a session
never passes for it. It grants reading one district's status page for 14 days; nothing else.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import jwt

from smartpass import aws_clients
from smartpass.data.base import utcnow
from smartpass.settings import Settings, get_settings
from smartpass.sso.session import SigningKey

AUDIENCE = "smartpass-district-status"
LINK_TTL = timedelta(days=14)
PATH = "/district/status"
KEY_MAX_AGE_SECONDS = 300  # as the handlers' Parameters cache: a rotated key is used within minutes

log = logging.getLogger(__name__)


class LinkRejected(ValueError):
    """A token that does not open the page. `expired` tells a stale link from a bad one, which
    is all the page says: never which check failed."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def issuer(settings: Settings) -> str:
    return f"smartpass-classlink-{settings.stage}"


def make_token(tenant_id: str, key: SigningKey, settings: Settings, now: datetime | None = None) -> str:
    issued = now or utcnow()
    claims = {
        "iss": issuer(settings),
        "aud": AUDIENCE,
        "sub": tenant_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + LINK_TTL).timestamp()),
    }
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def read_token(token: str, key: SigningKey, settings: Settings) -> str:
    """The tenant id the token was made for, or LinkRejected."""
    if not token or len(token) > 4096:
        raise LinkRejected(expired=False)
    try:
        if jwt.get_unverified_header(token).get("kid") != key.kid:
            raise LinkRejected(expired=False)  # another key: forged, or signed before a rotation
        claims = jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=issuer(settings),
            options={"require": ["iss", "aud", "sub", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise LinkRejected(expired=True) from None
    except jwt.PyJWTError:
        raise LinkRejected(expired=False) from None
    tenant_id = claims.get("sub")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise LinkRejected(expired=False)
    return tenant_id


def api_base_url(settings: Settings) -> str | None:
    """The HTTP API's public origin: the one the SSO redirect URI (a deployment setting) is on.
    Never taken from a request's headers."""
    if not settings.sso_redirect_uri:
        return None
    parts = urlsplit(settings.sso_redirect_uri)
    return f"{parts.scheme}://{parts.netloc}"


def status_url(
    tenant_id: str, key: SigningKey, settings: Settings, now: datetime | None = None
) -> str | None:
    base = api_base_url(settings)
    if base is None:
        return None
    return f"{base}{PATH}?{urlencode({'token': make_token(tenant_id, key, settings, now)})}"


_key_lock = threading.Lock()
_key_cache: tuple[float, SigningKey] | None = None


def _signing_key(settings: Settings) -> SigningKey:
    global _key_cache
    with _key_lock:
        if _key_cache is None or time.monotonic() - _key_cache[0] > KEY_MAX_AGE_SECONDS:
            secret = aws_clients.secretsmanager().get_secret_value(
                SecretId=settings.session_signing_key_secret_id
            )
            _key_cache = (time.monotonic(), SigningKey.from_secret(json.loads(secret["SecretString"])))
        return _key_cache[1]


def link_for_report(tenant_id: str) -> str | None:
    """The district page's link for a report, or None when the API's address is not configured
    or the key cannot be read: a report goes out without a link rather than not at all."""
    settings = get_settings()
    if api_base_url(settings) is None:
        return None
    try:
        return status_url(tenant_id, _signing_key(settings), settings)
    except Exception as exc:  # a report must never fail for its link
        log.warning("district status link left out of the report: %s", type(exc).__name__)
        return None
