"""SQS -> one district's sync per message, with partial batch failures and idempotency."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sync.requests import SyncRequest
from smartpass.sync.runs import open_run

settings = get_settings()
bind_tables(settings)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


class SyncRequestRecord(SqsRecordModel):
    body: Json[SyncRequest]


processor = BatchProcessor(event_type=EventType.SQS, model=SyncRequestRecord)
idempotency_config = IdempotencyConfig(
    event_key_jmespath="[tenant_id, kind, trigger]", expires_after_seconds=6 * 3600
)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)


@idempotent_function(
    data_keyword_argument="request",
    config=idempotency_config,
    persistence_store=persistence,
)
def handle_request(request: SyncRequest) -> dict[str, str]:
    run, created = open_run(request)
    logger.info(
        "sync run opened" if created else "sync run already open",
        extra={"tenant_id": run.tenant_id, "run_id": run.run_id, "kind": run.kind},
    )
    metrics.add_metric(
        name="SyncRunsOpened" if created else "DuplicateSyncRequests", unit=MetricUnit.Count, value=1
    )
    return {"tenant_id": run.tenant_id, "run_id": run.run_id, "state": run.state}


@tracer.capture_method
def record_handler(record: SyncRequestRecord) -> dict[str, str]:
    return handle_request(request=record.body)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
