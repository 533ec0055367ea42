"""HTTP API routes of the status pages (Powertools event handler). `/ops/...` sit behind the
AWS_IAM authorizer (template.yaml), so whoever reaches them is an IAM principal; the district
page checks its signed link itself."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.operations.district_link import LinkRejected, read_token
from smartpass.operations.district_page import (
    DistrictGone,
    district_status,
    render_district_page,
    render_link_refused,
)
from smartpass.operations.page_layout import PAGE_HEADERS
from smartpass.operations.status_page import collect_status, render_status_page, status_json
from smartpass.settings import get_settings
from smartpass_aws.http_headers import secured
from smartpass_aws.link_keys import link_public_keys

settings = get_settings()
bind_tables(settings)
stores = dynamo_stores()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()


def _caller() -> str:
    """Who looked (the IAM principal API Gateway verified), for the audit trail in the logs."""
    context = app.current_event.raw_event.get("requestContext", {})
    return str(((context.get("authorizer") or {}).get("iam") or {}).get("userArn") or "unknown")


def _html(status: int, body: str) -> Response:
    return Response(status, content_types.TEXT_HTML, body, dict(PAGE_HEADERS))


@app.get("/ops/status")
def status_page() -> Response:
    logger.info("status page viewed", extra={"caller": _caller()})
    return _html(200, render_status_page(collect_status(stores)))


@app.get("/ops/status.json")
def status_data() -> Response:
    logger.info("status data read", extra={"caller": _caller()})
    return Response(
        200, content_types.APPLICATION_JSON, status_json(collect_status(stores)), dict(PAGE_HEADERS)
    )


@app.get("/district/status")
def district_page() -> Response:
    token = app.current_event.get_query_string_value("token", "") or ""
    try:
        tenant_id = read_token(token, link_public_keys(), settings)
        status = district_status(stores, tenant_id)
    except LinkRejected as refused:
        metrics.add_metric(name="DistrictLinksRefused", unit=MetricUnit.Count, value=1)
        logger.info("district link refused", extra={"expired": refused.expired})
        return _html(403, render_link_refused(refused.expired))
    except DistrictGone:
        logger.info("district link names a district that is gone")
        return _html(403, render_link_refused(expired=False))
    logger.info("district page viewed", extra={"tenant_id": tenant_id})
    metrics.add_metric(name="DistrictPagesViewed", unit=MetricUnit.Count, value=1)
    return _html(200, render_district_page(status))


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)  # pages are operators' data
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The pages set their own policy (page_layout.PAGE_HEADERS); error answers get one too.
    return secured(app.resolve(event, context))
