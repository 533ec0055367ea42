"""HTTP routes of the district holds page (Powertools event handler): a district administrator,
signed in through ClassLink, sees and decides their own district's held sync runs
(smartpass.operations.district_holds). The session comes in a cookie the SSO function set; this
function verifies it with the session keys' public halves only and can sign nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from district_holds.responses import html, refused, session_of, sign_in
from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.operations.district_holds import (
    DecisionRefused,
    NotAllowed,
    SessionRejected,
    decide,
    holds_view,
)
from smartpass.operations.district_holds_page import render_decision, render_holds, render_not_decided
from smartpass.settings import get_settings
from smartpass.sso.district_admin import PATH
from smartpass_aws.http_headers import secured

settings = get_settings()
bind_tables(settings)
stores = dynamo_stores()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()


def _time_left() -> float:
    """Seconds this invocation has left: an approval stops in time and is continued."""
    return float(app.lambda_context.get_remaining_time_in_millis()) / 1000


@app.get(PATH)
def holds_page() -> Response:
    session = session_of(app)
    if isinstance(session, SessionRejected):
        return sign_in(app, session)
    try:
        view = holds_view(stores, session)
    except NotAllowed as refusal:
        return refused(app, refusal.reason, session)
    logger.info("district holds viewed", extra={"tenant_id": session.tenant_id, "held": len(view.held)})
    return html(200, render_holds(view))


@app.post(PATH)
def decision() -> Response:
    session = session_of(app)
    if isinstance(session, SessionRejected):
        return sign_in(app, session)
    form = parse_qs(app.current_event.decoded_body or "", max_num_fields=10)
    run_id, choice, token = ((form.get(name) or [""])[0] for name in ("run_id", "decision", "form_token"))
    try:
        made = decide(stores, session, run_id, choice, token, _time_left)
    except NotAllowed as refusal:
        return refused(app, refusal.reason, session)
    except DecisionRefused as exc:
        logger.info("district hold decision refused", extra={"tenant_id": session.tenant_id, "why": str(exc)})
        return html(409, render_not_decided(str(exc)))
    logger.info(
        "district hold decided",
        extra={
            "tenant_id": session.tenant_id,
            "run_id": run_id,
            "decision": choice,
            "by": session.sourced_id,
        },
    )
    metrics.add_metric(name="HoldsDecidedByDistrictAdmins", unit=MetricUnit.Count, value=1)
    return html(200, render_decision(made))


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)  # pages carry the district's data
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return secured(app.resolve(event, context))
