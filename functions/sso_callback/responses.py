"""The SSO routes' answers: refusal pages (JSON for API clients) logged with their reason and
reference, redirects, and the cookie that binds a login to the browser that started it."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from smartpass.sso import pages
from smartpass.sso.callback import BOUNCE_COOKIE, Outcome
from smartpass.sso.launch import LoginStart

logger = Logger()
metrics = Metrics()
NO_STORE = {"Cache-Control": "no-store"}
CALLBACK_PATH = "/sso/classlink/callback"
LOGIN_COOKIE_SECONDS = 600  # as long as the login state lives
BOUNCE_COOKIE_SECONDS = 60
SESSION_PATH = "/sso/session"
CODE_COOKIE_SECONDS = 60  # as long as the login code lives (smartpass.sso.session.LOGIN_CODE_TTL)


def refuse(app: BaseRouter, reason: str, tenant_id: str | None = None) -> Response:
    page = pages.refusal_page(reason)
    reference = app.current_event.request_context.request_id  # type: ignore[attr-defined]
    logger.warning(
        "sign-in refused", extra={"reason": reason, "reference": reference, "tenant_id": tenant_id}
    )
    metrics.add_metric(name="LoginsRefused", unit=MetricUnit.Count, value=1)
    # By reason too (a bounded set), so a ClassLink outage is told apart from sharing problems.
    with single_metric(name="LoginsRefusedByReason", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="reason", value=reason)
    if "application/json" in (app.current_event.headers.get("accept") or ""):
        body = {"error": reason, "title": page.title, "what_to_do": page.action, "reference": reference}
        return Response(page.status, content_types.APPLICATION_JSON, body, NO_STORE)
    return Response(page.status, content_types.TEXT_HTML, pages.render(page, reference), NO_STORE)


def redirect(
    location: str,
    secure: bool,
    set_cookies: list[tuple[str, str, int]] | None = None,
    clear: list[str] | None = None,
) -> Response:
    """A 302 that sets (name, value, max-age seconds) and clears the callback's cookies."""
    cookies = [_cookie(name, value, seconds, secure) for name, value, seconds in set_cookies or []]
    cookies += [_cookie(name, "", 0, secure) for name in clear or []]
    return Response(302, headers={"Location": location, **NO_STORE}, cookies=cookies)


def _cookie(name: str, value: str, max_age: int, secure: bool, path: str = CALLBACK_PATH) -> Cookie:
    # Only the route at `path` reads it; Lax still sends it on ClassLink's top-level redirect
    # back, and on the app's credentialed fetch from the same site.
    return Cookie(
        name=name,
        value=value,
        path=path,
        secure=secure,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def request_cookies(raw: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in raw or []:
        name, _, value = pair.partition("=")
        found.setdefault(name.strip(), value.strip())
    return found


def login_redirect(start: LoginStart, secure: bool) -> Response:
    """To ClassLink, with the cookie that binds this login to this browser."""
    return redirect(start.url, secure, [(start.cookie_name, start.cookie_value, LOGIN_COOKIE_SECONDS)])


def callback_redirect(outcome: Outcome, secure: bool) -> Response:
    assert outcome.location is not None
    if outcome.cookie is not None:  # the tile's code, bounced into a login bound to this browser
        bounce = (BOUNCE_COOKIE, "1", BOUNCE_COOKIE_SECONDS)
        return redirect(outcome.location, secure, [(*outcome.cookie, LOGIN_COOKIE_SECONDS), bounce])
    # Into the app: the login's binding cookie and the bounce mark have done their work; the
    # code's own cookie goes to the one route that redeems it.
    response = redirect(
        outcome.location, secure, clear=[c for c in (outcome.clear_cookie, BOUNCE_COOKIE) if c]
    )
    if outcome.code_cookie is not None:
        name, value = outcome.code_cookie
        response.cookies.append(_cookie(name, value, CODE_COOKIE_SECONDS, secure, SESSION_PATH))
    return response


def spent_code_cookie(name: str, secure: bool) -> Cookie:
    """The code's cookie, cleared once its code is redeemed."""
    return _cookie(name, "", 0, secure, SESSION_PATH)
