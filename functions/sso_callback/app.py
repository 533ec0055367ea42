"""HTTP API routes for OneClick SSO (Powertools event handler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sso import pages
from smartpass.sso.callback import finish_login, start_login
from smartpass.sso.launch import InvalidReturnPath
from smartpass.sso.session import LoginCodeRejected, redeem_login_code
from sso_callback.services import oidc, signing_key, sso_config

settings = get_settings()
bind_tables(settings)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
NO_STORE = {"Cache-Control": "no-store"}


def _refuse(reason: str) -> Response:
    page = pages.refusal_page(reason)
    reference = app.current_event.request_context.request_id
    logger.warning("sign-in refused", extra={"reason": reason, "reference": reference})
    metrics.add_metric(name="LoginsRefused", unit=MetricUnit.Count, value=1)
    if "application/json" in (app.current_event.headers.get("accept") or ""):
        body = {"error": reason, "title": page.title, "what_to_do": page.action, "reference": reference}
        return Response(page.status, content_types.APPLICATION_JSON, body, NO_STORE)
    return Response(page.status, content_types.TEXT_HTML, pages.render(page, reference), NO_STORE)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "stage": settings.stage}


@app.get("/sso/classlink/launch")
def launch() -> Response:
    if not settings.sso_redirect_uri:
        return _refuse("not_configured")
    try:
        url = start_login(
            oidc(), sso_config(), app.current_event.get_query_string_value("return_to", "/") or "/"
        )
    except InvalidReturnPath:
        return _refuse("bad_return_path")
    metrics.add_metric(name="LoginsStarted", unit=MetricUnit.Count, value=1)
    return Response(302, headers={"Location": url, **NO_STORE})


@app.get("/sso/classlink/callback")
def callback() -> Response:
    outcome = finish_login(app.current_event.query_string_parameters or {}, oidc(), sso_config())
    if outcome.refusal:
        return _refuse(outcome.refusal)
    assert outcome.location is not None
    if outcome.person:
        logger.info("signed in", extra={"person": outcome.person})
        metrics.add_metric(name="LoginsSucceeded", unit=MetricUnit.Count, value=1)
    return Response(302, headers={"Location": outcome.location, **NO_STORE})


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
        return _refuse("invalid_login_code")
    return Response(200, content_types.APPLICATION_JSON, {"session_token": token}, NO_STORE)


@app.get("/.well-known/jwks.json")
def jwks() -> dict[str, Any]:
    return {"keys": [signing_key().public_jwk()]}


CORRELATION = correlation_paths.API_GATEWAY_HTTP


@logger.inject_lambda_context(correlation_id_path=CORRELATION, log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
