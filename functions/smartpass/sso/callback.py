"""Finishing a ClassLink sign-in: from the callback's query to a redirect into the app with a
single-use login code, or a refusal with its reason code.

A code with no `state` is what the LaunchPad tile sends (classlink-facts A8). It is not bound to
this browser, so exchanging it would let anyone who can make a browser open our callback with
their code sign that browser in as them (login CSRF). We never exchange it: we start a fresh,
state-bound login instead. For a user signed in to ClassLink that is a redirect or two with no
prompt; the tile's code simply expires unused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from pynamodb.exceptions import UpdateError

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oidc import CodeRejected, InvalidIdToken, OidcClient
from smartpass.data.base import utcnow
from smartpass.data.login import LoginState
from smartpass.sso.identity import Refusal, resolve_person
from smartpass.sso.launch import begin_login
from smartpass.sso.session import issue_login_code


@dataclass(frozen=True)
class SsoConfig:
    client_id: str
    client_secret: str
    redirect_uri: str
    app_url: str


@dataclass(frozen=True)
class Outcome:
    location: str | None = None  # a redirect
    refusal: str | None = None  # or a reason code
    person: str | None = None  # "tenant|sourcedId" for the log line, never a name


def start_login(oidc: OidcClient, config: SsoConfig, return_path: str) -> str:
    return begin_login(
        authorize_url=oidc.discovery().authorization_endpoint,
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        return_path=return_path,
    )


def _consume_state(value: str) -> LoginState | Refusal:
    """The stored state, marked used, in one conditional write; unknown, used and expired look
    the same to the caller."""
    now = utcnow()
    state = LoginState(state=value[:128])
    try:
        state.update(
            actions=[LoginState.consumed.set(True)],
            condition=LoginState.state.exists()
            & (LoginState.consumed == False)  # noqa: E712
            & (LoginState.expires_at > now),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return Refusal("unknown_state")
        raise
    return state


def finish_login(query: Mapping[str, str], oidc: OidcClient, config: SsoConfig) -> Outcome:
    if query.get("error"):
        return Outcome(refusal="access_denied")
    code, state_value = query.get("code"), query.get("state")
    if not code:
        return Outcome(refusal="missing_code")
    if not config.redirect_uri:
        return Outcome(refusal="not_configured")
    try:
        if not state_value:
            return Outcome(location=start_login(oidc, config, "/"))  # the tile: see module doc
        state = _consume_state(state_value)
        if isinstance(state, Refusal):
            return Outcome(refusal=state.reason)
        tokens = oidc.exchange(
            code, config.client_id, config.client_secret, config.redirect_uri, state.code_verifier
        )
        claims = oidc.verify_id_token(tokens.id_token, config.client_id, state.nonce)
        info = oidc.my_info(tokens.access_token)
    except CodeRejected:
        return Outcome(refusal="code_rejected")
    except InvalidIdToken as exc:
        return Outcome(refusal=f"id_token_{exc.reason}")
    except ClassLinkError:
        return Outcome(refusal="classlink_unavailable")
    person = resolve_person(info, claims)
    if isinstance(person, Refusal):
        return Outcome(refusal=person.reason, person=f"{info.tenant_id}|{info.sourced_id or '-'}")
    login_code = issue_login_code(person)
    path = state.return_path or "/"
    separator = "&" if "?" in path else "?"
    return Outcome(
        location=f"{config.app_url}{path}{separator}{urlencode({'login_code': login_code})}",
        person=f"{person.tenant_id}|{person.sourced_id}",
    )
