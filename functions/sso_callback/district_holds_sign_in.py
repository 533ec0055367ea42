"""The end of a district administrator's sign-in for the district holds page
(smartpass.sso.district_admin): a redirect to that page with the administrator's session in a
cookie only that page gets."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from smartpass.data.base import utcnow
from smartpass.settings import get_settings
from smartpass.sso import district_admin
from smartpass.sso.callback import BOUNCE_COOKIE, Outcome
from smartpass.sso.session import SESSION_TTL
from smartpass_aws.link_keys import sessions
from sso_callback.responses import redirect

metrics = Metrics()


def district_admin_redirect(outcome: Outcome, secure: bool) -> Response:
    """HttpOnly, for the session's 15 minutes, SameSite=Lax (sent on this top-level redirect
    back from ClassLink, never on another site's POST), Path=/district/holds. No token ever sits
    in a URL. The session is signed with the session key, whose public half is published first
    for the holds function (which verifies and never signs)."""
    assert outcome.location is not None and outcome.district_admin is not None
    issuer = f"smartpass-classlink-{get_settings().stage}"
    token = district_admin.admin_session(outcome.district_admin, sessions.signing_key(), issuer, utcnow())
    response = redirect(
        outcome.location, secure, clear=[c for c in (outcome.clear_cookie, BOUNCE_COOKIE) if c]
    )
    response.cookies.append(
        Cookie(
            name=district_admin.COOKIE,
            value=token,
            path=district_admin.PATH,
            secure=secure,
            http_only=True,
            max_age=int(SESSION_TTL.total_seconds()),
            same_site=SameSite.LAX_MODE,
        )
    )
    metrics.add_metric(name="DistrictAdminSignIns", unit=MetricUnit.Count, value=1)
    return response
