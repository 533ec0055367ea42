"""SP-initiated login ("Sign in with ClassLink"): remember state, nonce and a PKCE verifier,
then send the browser to the authorization endpoint ClassLink's discovery names
(classlink-facts A1, A2, A6). The URL and PKCE come from oauthlib's WebApplicationClient.

PKCE is sent because ClassLink keeps the parameters (A6); whether it enforces them is open (E3),
so nothing here depends on it being enforced. The state is also bound to the browser that
started the login: a random value in a cookie of its own, whose hash is stored with the state,
so a callback URL carried to another browser signs nobody in (login CSRF).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, unquote

from oauthlib.oauth2 import WebApplicationClient

from smartpass.data.base import utcnow
from smartpass.data.login import LoginState
from smartpass.data.stores import Stores

LOGIN_STATE_TTL = timedelta(minutes=10)
SCOPES = ["openid", "profile", "email"]


# A path and an optional query of plain URL characters: no fragment, no backslash, no space or
# control character (browsers drop tabs and newlines, so `/\t/evil` would become `//evil`).
RETURN_PATH = re.compile(r"/[A-Za-z0-9._~!$'()*+,;=:@%/-]*(\?[A-Za-z0-9._~!$'()*+,;=:@%/?&-]*)?")
BROWSER_COOKIE_PREFIX = "sp_login_"


class InvalidReturnPath(ValueError):
    pass


class StateTaken(RuntimeError):
    """A new login state's key is stored already (32 random bytes: never, short of a broken RNG)."""


@dataclass(frozen=True)
class LoginStart:
    url: str  # ClassLink's authorize URL for this login
    cookie_name: str  # per login, so two tabs do not overwrite each other
    cookie_value: str = field(repr=False)  # binds the login to this browser


def _decoded(text: str) -> str:
    """Percent-escapes undone until nothing changes (`%252e` is `%2e` is `.`), as a browser or a
    server behind it may undo them: the path is judged as it will be resolved."""
    for _ in range(4):
        decoded = unquote(text)
        if decoded == text:
            return decoded
        text = decoded
    raise InvalidReturnPath("return path is encoded too many times")


def safe_return_path(value: str | None) -> str:
    """Only a path (and query) on our own app, judged after percent-decoding: never `//host`, a
    scheme, a backslash, a `.` or `..` segment, a fragment, or a `login_code` of its own (even
    blank: the app would read the first one, not ours)."""
    if not value:
        return "/"
    if len(value) > 512 or not RETURN_PATH.fullmatch(value):
        raise InvalidReturnPath("return path must be a path on this site")
    path, _, query = value.partition("?")
    decoded = _decoded(path)
    if (
        decoded.startswith("//")
        or "\\" in decoded
        or any(segment in (".", "..") for segment in decoded.split("/"))
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded)
        or "login_code" in parse_qs(_decoded(query), keep_blank_values=True)
    ):
        raise InvalidReturnPath("return path must be a path on this site")
    return value


def browser_cookie_name(state: str) -> str:
    return BROWSER_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def binding_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# RFC 7636: base64url of a SHA-256, 43 characters.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


class InvalidCodeChallenge(ValueError):
    """A code_challenge that is not an S256 challenge (plain is never accepted)."""


def checked_code_challenge(challenge: str | None, method: str | None) -> str | None:
    """The S256 challenge a client that starts the login itself sends to bind its login code,
    or None when it sends none (the code is then bound by a cookie in the browser)."""
    if not challenge and not method:
        return None
    if method != "S256" or not challenge or not CODE_CHALLENGE.fullmatch(challenge):
        raise InvalidCodeChallenge("code_challenge must be an S256 challenge (code_challenge_method=S256)")
    return challenge


def begin_login(
    stores: Stores,
    *,
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    return_path: str,
    code_challenge: str | None = None,
    destination: str | None = None,
) -> LoginStart:
    client = WebApplicationClient(client_id)
    verifier = client.create_code_verifier(64)
    binding = secrets.token_urlsafe(32)
    state = LoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(24),
        code_verifier=verifier,
        return_path=safe_return_path(return_path),
        browser_binding_hash=binding_hash(binding),
        code_challenge=code_challenge,
        destination=destination,
        expires_at=utcnow() + LOGIN_STATE_TTL,
    )
    if not stores.login_states.add(state):
        raise StateTaken("a new login state collided with a stored one")
    url: str = client.prepare_request_uri(
        authorize_url,
        redirect_uri=redirect_uri,
        scope=SCOPES,
        state=state.state,
        nonce=state.nonce,
        code_challenge=client.create_code_challenge(verifier, "S256"),
        code_challenge_method="S256",
    )
    return LoginStart(url=url, cookie_name=browser_cookie_name(state.state), cookie_value=binding)
