"""The holds page's answers: its pages with their headers, the session read from the cookie, the
sign-in page (dropping a stale cookie) and refusals logged with their reason and reference."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from smartpass.operations.district_holds import AdminSession, SessionRejected, read_session
from smartpass.operations.district_holds_page import HOLDS_PAGE_HEADERS, render_refused, render_sign_in
from smartpass.settings import get_settings
from smartpass.sso.district_admin import COOKIE, PATH
from smartpass_aws.link_keys import sessions

logger = Logger()
metrics = Metrics()


def html(status: int, body: str, cookies: list[Cookie] | None = None) -> Response:
    return Response(status, content_types.TEXT_HTML, body, dict(HOLDS_PAGE_HEADERS), cookies=cookies)


def _cookies(app: BaseRouter) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in app.current_event.cookies or []:  # type: ignore[attr-defined]
        name, _, value = pair.partition("=")
        found.setdefault(name.strip(), value.strip())
    return found


def session_of(app: BaseRouter) -> AdminSession | SessionRejected:
    """The district administrator's session in the cookie, verified with the session keys'
    public halves; SessionRejected when there is none or it does not verify."""
    issuer = f"smartpass-classlink-{get_settings().stage}"
    try:
        return read_session(_cookies(app).get(COOKIE, ""), sessions.public_keys(), issuer)
    except SessionRejected as rejected:
        return rejected


def sign_in(app: BaseRouter, rejected: SessionRejected) -> Response:
    """No session, or one that does not verify: sign in again (a stale cookie is dropped)."""
    if COOKIE not in _cookies(app):
        return html(401, render_sign_in(expired=False))
    secure = get_settings().sso_redirect_uri.startswith("https://")
    dropped = Cookie(
        COOKIE, "", path=PATH, secure=secure, http_only=True, max_age=0, same_site=SameSite.LAX_MODE
    )
    return html(401, render_sign_in(rejected.expired), [dropped])


def refused(app: BaseRouter, reason: str, session: AdminSession) -> Response:
    reference = app.current_event.request_context.request_id  # type: ignore[attr-defined]
    logger.warning(
        "district holds page refused",
        extra={
            "reason": reason,
            "reference": reference,
            "tenant_id": session.tenant_id,
            "sourced_id": session.sourced_id,
        },
    )
    metrics.add_metric(name="DistrictHoldsRefused", unit=MetricUnit.Count, value=1)
    status, body = render_refused(reason, reference)
    return html(status, body)
