"""The district's own status link: a signed, expiring token in the URL of the district page, sent
in the district's sync report, so a district IT admin sees their last sync and what to fix
without an account.

The token is an RS256 JWT signed with the district link key (its `kid` in the header; never the
key that signs sessions), with an audience of its own (sessions have theirs), so it never passes
for a session and a session never passes for it. The page checks it with public keys only. It
grants reading one district's status page for 14 days; nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import jwt

from smartpass.data.base import utcnow
from smartpass.settings import Settings
from smartpass.sso.session import PublicKeys, SigningKey

AUDIENCE = "smartpass-district-status"
LINK_TTL = timedelta(days=14)
PATH = "/district/status"


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


def read_token(token: str, keys: PublicKeys, settings: Settings) -> str:
    """The tenant id the token was made for, or LinkRejected. Made with the current key or, for
    a link sent before the last rotation, the previous one."""
    if not token or len(token) > 4096:
        raise LinkRejected(expired=False)
    try:
        key = keys.find(jwt.get_unverified_header(token).get("kid"))
        if key is None:
            raise LinkRejected(expired=False)  # another key: forged, or older than the last rotation
        claims = jwt.decode(
            token,
            key,
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
