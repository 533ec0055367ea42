"""HTTP API routes for OneClick SSO (Powertools event handler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.classlink.http import ClassLinkError
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sso.callback import finish_login, start_login
from smartpass.sso.launch import InvalidReturnPath
from smartpass.sso.session import LoginCodeRejected, redeem_login_code
from sso_callback.responses import NO_STORE, callback_redirect, login_redirect, refuse, request_cookies
from sso_callback.services import oidc, signing_key, sso_config

settings = get_settings()
bind_tables(settings)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
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


@app.get("/sso/classlink/launch")
def launch() -> Response:
    if not settings.sso_redirect_uri:
        return refuse(app, "not_configured")
    try:
        start = start_login(
            oidc(), sso_config(), app.current_event.get_query_string_value("return_to", "/") or "/"
        )
    except InvalidReturnPath:
        return refuse(app, "bad_return_path")
    metrics.add_metric(name="LoginsStarted", unit=MetricUnit.Count, value=1)
    return login_redirect(start, SECURE)


@app.get("/sso/classlink/callback")
def callback() -> Response:
    cookies = request_cookies(app.current_event.cookies)
    outcome = finish_login(app.current_event.query_string_parameters or {}, cookies, oidc(), sso_config())
    if outcome.refusal:
        return refuse(app, outcome.refusal, (outcome.person or "").split("|")[0] or None)
    if outcome.cookie is None:
        logger.info("signed in", extra={"tenant_id": (outcome.person or "").split("|")[0]})
        metrics.add_metric(name="LoginsSucceeded", unit=MetricUnit.Count, value=1)
    return callback_redirect(outcome, SECURE)


@app.post("/sso/session")
def session() -> Response:
    try:
        body = app.current_event.json_body if app.current_event.body else {}
    except ValueError:
        body = {}
    code = body.get("login_code") if isinstance(body, dict) else None
    try:
        token = redeem_login_code(str(code or ""), signing_key(), f"smartpass-classlink-{settings.stage}")
    except LoginCodeRejected:
        return refuse(app, "invalid_login_code")
    return Response(200, content_types.APPLICATION_JSON, {"session_token": token}, NO_STORE)


@app.get("/.well-known/jwks.json")
def jwks() -> dict[str, Any]:
    return {"keys": [signing_key().public_jwk()]}


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)  # responses carry login codes and sessions
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
