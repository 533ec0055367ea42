"""Scheduled poll of the ClassLink Partner API (and early polls nudged by ClassLink's e-mail):
discover, connect, pause and resume districts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.classlink.partner_api import PartnerApiClient
from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.onboarding.discovery import reconcile_districts
from smartpass.settings import get_settings
from smartpass_aws.onboarding_services import build_services

settings = get_settings()
bind_tables(settings)
stores = dynamo_stores()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
SAFETY_MARGIN_MS = 10_000


def _trigger(event: dict[str, Any]) -> str:
    # SNS (the invitation e-mail) only says "look now"; the Partner API stays the source of truth.
    if event.get("Records"):
        return "invitation-email"
    return str(event.get("source", "unknown"))


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    secret = parameters.get_secret(settings.partner_api_key_secret_id, transform="json", max_age=300)
    partner = PartnerApiClient(settings.classlink_partner_api_url, secret["api_key"])

    def time_left() -> float:
        return max(0.0, (context.get_remaining_time_in_millis() - SAFETY_MARGIN_MS) / 1000)

    services = build_services(settings, time_left, stores)
    known = stores.districts.all(consistent=False)
    result = reconcile_districts(partner.applications(), known, services, partner.server, time_left)
    for name, value in (
        ("DistrictsDiscovered", len(result.discovered)),
        ("DistrictsConnected", len(result.connected)),
        ("DistrictConnectionsFailed", len(result.connection_failed)),
        ("DistrictsPaused", len(result.paused)),
        ("DistrictsResumed", len(result.resumed)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for tenant_id, reason in result.connection_failed.items():
        logger.warning("district connection check failed", extra={"tenant_id": tenant_id, "reason": reason})
    for tenant_id, error in result.errors.items():
        logger.error(
            "district skipped this poll after an error", extra={"tenant_id": tenant_id, "error": error}
        )
    metrics.add_metric(name="PollDistrictErrors", unit=MetricUnit.Count, value=len(result.errors))
    if result.invalid_rows:
        metrics.add_metric(name="PartnerApiInvalidRows", unit=MetricUnit.Count, value=result.invalid_rows)
        logger.warning(
            "Partner API rows failed validation; no district paused this poll",
            extra={"invalid_rows": result.invalid_rows},
        )
    if result.empty_list_ignored:
        metrics.add_metric(name="PartnerApiEmptyListIgnored", unit=MetricUnit.Count, value=1)
        logger.warning("Partner API listed no tenants while districts are connected; nobody paused")
    summary = {"trigger": _trigger(event), **result.__dict__}
    logger.info("invitation poll done", extra=summary)
    return summary
