"""HTTP API routes for OneClick SSO (Powertools event handler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sso import pages
from smartpass.sso.launch import InvalidReturnPath, begin_login

settings = get_settings()
bind_tables(settings)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()

CALLBACK_PATH = "/sso/classlink/callback"


def _page(page: pages.Page) -> Response:
    reference = app.current_event.request_context.request_id
    return Response(
        status_code=page.status,
        content_type=content_types.TEXT_HTML,
        body=pages.render(page, reference),
        headers={"Cache-Control": "no-store"},
    )


def _redirect_uri() -> str:
    # API Gateway always sets x-forwarded-proto; the local gateway sets it to http.
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.domain_name}{CALLBACK_PATH}"


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "stage": settings.stage}


@app.get("/sso/classlink/launch")
def launch() -> Response:
    client = parameters.get_secret(settings.sso_client_secret_id, transform="json", max_age=300)
    try:
        url = begin_login(
            authorize_url=f"{settings.classlink_launchpad_url}/oauth2/v2/auth",
            client_id=client["client_id"],
            redirect_uri=_redirect_uri(),
            return_path=app.current_event.get_query_string_value("return_to", "/") or "/",
        )
    except InvalidReturnPath:
        return _page(pages.BAD_RETURN_PATH)
    metrics.add_metric(name="LoginsStarted", unit=MetricUnit.Count, value=1)
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"})


@app.get(CALLBACK_PATH)
def callback() -> Response:
    event = app.current_event
    if event.get_query_string_value("error"):
        metrics.add_metric(name="LoginsRefused", unit=MetricUnit.Count, value=1)
        return _page(pages.ACCESS_DENIED)
    if not event.get_query_string_value("code"):
        return _page(pages.MISSING_CODE)
    # The code exchange, id_token check and identity resolution belong to the SSO issue.
    return _page(pages.NOT_READY)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
