"""Finishing a ClassLink sign-in: from the callback's query to a redirect into the app with a
single-use login code, or a refusal with its reason code.

A code with no `state` is what the LaunchPad tile sends (classlink-facts A8). It is not bound to
this browser, so exchanging it would let anyone who can make a browser open our callback with
their code sign that browser in as them (login CSRF). We never exchange it: we start a fresh,
state-bound login instead. For a user signed in to ClassLink that is a redirect or two with no
prompt; the tile's code simply expires unused.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oidc import ClientRejected, CodeRejected, InvalidIdToken, OidcClient
from smartpass.data.base import utcnow
from smartpass.data.changes import equals, greater, present
from smartpass.data.login import LoginState
from smartpass.data.stores import Stores
from smartpass.sso import district_admin
from smartpass.sso.identity import Person, Refusal, resolve_person
from smartpass.sso.launch import LoginStart, begin_login, binding_hash, browser_cookie_name
from smartpass.sso.session import issue_login_code

# Set when the tile's code is bounced into a fresh login; a second bounce within its life is a
# loop (ClassLink answered without our state) and ends on a page instead.
BOUNCE_COOKIE = "sp_bounced"


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
    cookie: tuple[str, str] | None = None  # (name, value) binding a new login to this browser
    clear_cookie: str | None = None  # the binding cookie a finished login no longer needs
    # (name, value) of the cookie that binds the login code to this browser (/sso/session reads it)
    code_cookie: tuple[str, str] | None = None
    sub_differs: bool = False  # the id_token's sub is not my/info's UserId (counted, not refused)
    # A district administrator signed in for the district holds page: the handler signs their
    # session (district_admin.py) and sets it as a cookie on the redirect to that page.
    district_admin: Person | None = None


DESTINATIONS = frozenset({district_admin.DESTINATION})


class UnknownDestination(ValueError):
    """A launch asked to end on a page of ours that does not exist."""


def start_login(
    stores: Stores,
    oidc: OidcClient,
    config: SsoConfig,
    return_path: str,
    code_challenge: str | None = None,
    destination: str | None = None,
) -> LoginStart:
    if destination is not None and destination not in DESTINATIONS:
        raise UnknownDestination(destination)
    return begin_login(
        stores,
        authorize_url=oidc.discovery().authorization_endpoint,
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        return_path=return_path if destination is None else "/",
        code_challenge=code_challenge if destination is None else None,
        destination=destination,
    )


def _consume_state(stores: Stores, value: str, cookies: Mapping[str, str]) -> LoginState | Refusal:
    """The stored state, marked used, in one conditional write; unknown, used, expired and
    started in another browser look the same to the caller."""
    state = stores.login_states.update(
        value[:128],
        {"consumed": True},
        [present("state"), equals("consumed", False), greater("expires_at", utcnow())],
    )
    if state is None:
        return Refusal("unknown_state")
    binding = cookies.get(browser_cookie_name(state.state), "")
    if not state.browser_binding_hash or not hmac.compare_digest(
        binding_hash(binding), state.browser_binding_hash
    ):
        return Refusal("unknown_state")
    return state


def _with_login_code(app_url: str, return_path: str, login_code: str) -> str:
    path, _, query = return_path.partition("?")
    pairs = [*parse_qsl(query, keep_blank_values=True), ("login_code", login_code)]
    return f"{app_url}{path}?{urlencode(pairs)}"


def finish_login(
    stores: Stores, query: Mapping[str, str], cookies: Mapping[str, str], oidc: OidcClient, config: SsoConfig
) -> Outcome:
    if query.get("error"):
        return Outcome(refusal="access_denied")
    code, state_value = query.get("code"), query.get("state")
    if not code:
        return Outcome(refusal="missing_code")
    if not config.redirect_uri:
        return Outcome(refusal="not_configured")
    try:
        if not state_value:  # the tile: see the module's docstring
            if cookies.get(BOUNCE_COOKIE):
                return Outcome(refusal="unknown_state")  # bounced a moment ago: no loop
            start = start_login(stores, oidc, config, "/")
            return Outcome(location=start.url, cookie=(start.cookie_name, start.cookie_value))
        state = _consume_state(stores, state_value, cookies)
        if isinstance(state, Refusal):
            return Outcome(refusal=state.reason)
        tokens = oidc.exchange(
            code, config.client_id, config.client_secret, config.redirect_uri, state.code_verifier
        )
        claims = oidc.verify_id_token(tokens.id_token, config.client_id, state.nonce)
        info = oidc.my_info(tokens.access_token)
    except CodeRejected:
        return Outcome(refusal="code_rejected")
    except ClientRejected:
        return Outcome(refusal="client_rejected")  # ours to fix: the handler alerts operators
    except InvalidIdToken as exc:
        return Outcome(refusal=f"id_token_{exc.reason}")
    except ClassLinkError:
        return Outcome(refusal="classlink_unavailable")
    person = resolve_person(stores, info, claims)
    if isinstance(person, Refusal):
        return Outcome(refusal=person.reason, person=f"{info.tenant_id}|{info.sourced_id or '-'}")
    if state.destination == district_admin.DESTINATION:
        return _to_district_holds(person, config, browser_cookie_name(state.state))
    issued = issue_login_code(stores, person, state.code_challenge)
    return Outcome(
        location=_with_login_code(config.app_url, state.return_path or "/", issued.code),
        person=f"{person.tenant_id}|{person.sourced_id}",
        clear_cookie=browser_cookie_name(state.state),
        code_cookie=(issued.cookie_name, issued.cookie_value) if issued.cookie_value else None,
        sub_differs=person.sub_differs,
    )


def _to_district_holds(person: Person, config: SsoConfig, login_cookie: str) -> Outcome:
    """A sign-in for the district holds page: only a district administrator goes on (the page
    checks again at each request), with no login code (the session goes into a cookie)."""
    who = f"{person.tenant_id}|{person.sourced_id}"
    if not district_admin.is_district_administrator(person.roster_role):
        return Outcome(refusal="not_district_administrator", person=who)
    return Outcome(
        location=district_admin.holds_url(config.redirect_uri),
        person=who,
        clear_cookie=login_cookie,
        district_admin=person,
    )
