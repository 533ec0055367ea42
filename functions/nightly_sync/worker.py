"""SQS -> one piece of one district's sync per message, with partial batch failures and one
dedupe key (run id, piece and deferral; smartpass.sync.requests). An unforeseen failure fails the
message (SQS delivers it again) except on its last delivery (MAX_RECEIVES): the run ends cleanly."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Json

from nightly_sync.batch import MAX_RECEIVES, LoggedBatchProcessor
from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sync.handle_request import handle_request
from smartpass.sync.requests import SyncRequest
from smartpass.sync.services import RequestOutcome
from smartpass_aws.sync_services import build_services

settings = get_settings()
bind_tables(settings)
stores = dynamo_stores()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


class SyncRequestRecord(SqsRecordModel):
    body: Json[SyncRequest]


class Work(BaseModel):
    dedupe_key: str
    request: SyncRequest
    last_delivery: bool = True  # not in the idempotency key (dedupe_key is)


processor = LoggedBatchProcessor(event_type=EventType.SQS, model=SyncRequestRecord)
idempotency_config = IdempotencyConfig(event_key_jmespath="dedupe_key", expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
RESULT_METRICS = {"succeeded": "SyncRunsSucceeded", "held": "SyncRunsHeld", "failed": "SyncRunsFailed"}


@idempotent_function(data_keyword_argument="work", config=idempotency_config, persistence_store=persistence)
def run_work(work: Work, context: LambdaContext) -> dict[str, Any]:
    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    services = build_services(settings, time_left, stores)
    outcome = handle_request(work.request, services, time_left, work.last_delivery)
    _measure(outcome)
    return outcome.as_dict()


def _measure(outcome: RequestOutcome) -> None:
    logger.info(f"sync request {outcome.state}", extra={**outcome.as_dict(), "notes": outcome.notes})
    metrics.add_metric(name=RESULT_METRICS.get(outcome.state, "SyncPieces"), unit=MetricUnit.Count, value=1)
    if outcome.result is not None:
        totals = outcome.result.counts["total"]
        for name in ("created", "updated", "deactivated", "reactivated", "invalid", "unchanged"):
            metrics.add_metric(name=f"Records{name.title()}", unit=MetricUnit.Count, value=totals[name])
        metrics.add_metric(name="OneRosterRequests", unit=MetricUnit.Count, value=outcome.result.requests)
        metrics.add_metric(name="OneRosterRetries", unit=MetricUnit.Count, value=outcome.result.retries)
        metrics.add_metric(name="SyncPieceSeconds", unit=MetricUnit.Seconds, value=outcome.result.seconds)


@tracer.capture_method
def record_handler(record: SyncRequestRecord, lambda_context: LambdaContext) -> dict[str, Any]:
    request = record.body
    last = int(record.attributes.ApproximateReceiveCount) >= MAX_RECEIVES
    work = Work(dedupe_key=request.dedupe_key(), request=request, last_delivery=last)
    try:
        return run_work(work=work, context=lambda_context)
    except IdempotencyAlreadyInProgressError:
        # The same piece is running in another invocation right now; it finishes the work.
        logger.info("duplicate delivery of a piece in progress", extra={"tenant_id": request.tenant_id})
        return {"tenant_id": request.tenant_id, "state": "duplicate"}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
