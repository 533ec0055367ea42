"""SP-initiated login ("Sign in with ClassLink"): remember state, nonce and a PKCE verifier,
then send the browser to the authorization endpoint ClassLink's discovery names
(classlink-facts A1, A2, A6). The URL and PKCE come from oauthlib's WebApplicationClient.

PKCE is sent because ClassLink keeps the parameters (A6); whether it enforces them is open (E3),
so nothing here depends on it being enforced.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from oauthlib.oauth2 import WebApplicationClient

from smartpass.data.base import utcnow
from smartpass.data.login import LoginState

LOGIN_STATE_TTL = timedelta(minutes=10)
SCOPES = ["openid", "profile", "email"]


class InvalidReturnPath(ValueError):
    pass


def safe_return_path(value: str | None) -> str:
    """Only a path on our own app: never `//host`, a scheme, a backslash or a control or space
    character (browsers drop tabs and newlines, so `/\\t/evil` would become `//evil`)."""
    if not value:
        return "/"
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)
        or len(value) > 512
    ):
        raise InvalidReturnPath("return path must be a path on this site")
    return value


def begin_login(*, authorize_url: str, client_id: str, redirect_uri: str, return_path: str) -> str:
    client = WebApplicationClient(client_id)
    verifier = client.create_code_verifier(64)
    state = LoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(24),
        code_verifier=verifier,
        return_path=safe_return_path(return_path),
        expires_at=utcnow() + LOGIN_STATE_TTL,
    )
    state.save(condition=LoginState.state.does_not_exist())
    url: str = client.prepare_request_uri(
        authorize_url,
        redirect_uri=redirect_uri,
        scope=SCOPES,
        state=state.state,
        nonce=state.nonce,
        code_challenge=client.create_code_challenge(verifier, "S256"),
        code_challenge_method="S256",
    )
    return url
