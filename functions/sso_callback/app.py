"""HTTP API routes for OneClick SSO (Powertools event handler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.classlink.http import ClassLinkError
from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sso.callback import finish_login
from smartpass_aws.http_headers import secured
from sso_callback import snapshot
from sso_callback.district_holds_sign_in import district_admin_redirect
from sso_callback.launch_routes import launch_routes
from sso_callback.responses import callback_redirect, refuse, request_cookies
from sso_callback.services import oidc, sso_config
from sso_callback.session_routes import session_routes

settings = get_settings()
bind_tables(settings)
stores = dynamo_stores()
snapshot.install(settings)  # SnapStart: primed at init, renewed in each restored copy
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
app.include_router(launch_routes(stores))
app.include_router(session_routes(stores))
SECURE = settings.sso_redirect_uri.startswith("https://")


@app.exception_handler(ClassLinkError)
def classlink_down(exc: ClassLinkError) -> Response:
    return refuse(app, "classlink_unavailable")


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    logger.exception("sign-in failed unexpectedly")
    return refuse(app, "internal_error")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "stage": settings.stage}


@app.get("/sso/classlink/callback")
def callback() -> Response:
    cookies = request_cookies(app.current_event.cookies)
    query = app.current_event.query_string_parameters or {}
    outcome = finish_login(stores, query, cookies, oidc(), sso_config())
    if outcome.refusal:
        if outcome.refusal == "client_rejected":  # our configuration: the SsoClientRejected alarm
            metrics.add_metric(name="SsoClientRejected", unit=MetricUnit.Count, value=1)
        return refuse(app, outcome.refusal, (outcome.person or "").split("|")[0] or None)
    if outcome.cookie is None:
        logger.info("signed in", extra={"tenant_id": (outcome.person or "").split("|")[0]})
        metrics.add_metric(name="LoginsSucceeded", unit=MetricUnit.Count, value=1)
        if outcome.sub_differs:  # ClassLink has not said that sub is the UserId: watched, not refused
            metrics.add_metric(name="IdTokenSubDiffersFromUserId", unit=MetricUnit.Count, value=1)
    if outcome.district_admin is not None:  # to the district holds page, with its session
        return district_admin_redirect(outcome, SECURE)
    return callback_redirect(outcome, SECURE)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)  # responses carry login codes and sessions
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return secured(app.resolve(event, context))
