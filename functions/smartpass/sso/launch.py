"""SP-initiated login ("Sign in with ClassLink"): remember state, nonce and a PKCE verifier,
then send the browser to ClassLink's authorization endpoint (classlink-facts.md A2, A6).

PKCE is sent because ClassLink keeps the parameters (A6); whether it enforces them is open (E3),
so nothing here depends on it being enforced.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from smartpass.data.base import utcnow
from smartpass.data.login import LoginState

LOGIN_STATE_TTL = timedelta(minutes=10)
SCOPES = "openid profile email"


class InvalidReturnPath(ValueError):
    pass


def safe_return_path(value: str | None) -> str:
    """Only a path on our own app: never `//host` or a scheme, which would be an open redirect."""
    if not value:
        return "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 512:
        raise InvalidReturnPath("return path must be a path on this site")
    return value


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin_login(*, authorize_url: str, client_id: str, redirect_uri: str, return_path: str) -> str:
    state = LoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(64),
        return_path=safe_return_path(return_path),
        expires_at=utcnow() + LOGIN_STATE_TTL,
    )
    state.save(condition=LoginState.state.does_not_exist())
    query = urlencode(
        {
            "scope": SCOPES,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state.state,
            "nonce": state.nonce,
            "code_challenge": pkce_challenge(state.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{authorize_url}?{query}"
