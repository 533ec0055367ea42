"""EventBridge Scheduler (nightly) -> one SQS message per district to sync."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sync.fanout import enqueue, plan_nightly
from smartpass.ticks import ScheduledTick
from smartpass_aws import clients as aws_clients

settings = get_settings()
bind_tables(settings)
stores = dynamo_stores()
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ScheduledTick)
def lambda_handler(event: ScheduledTick, context: LambdaContext) -> dict[str, object]:
    # Blackout dates are the district's calendar dates, so "today" is in the schedule's zone.
    today = event.scheduled_time.astimezone(ZoneInfo(settings.schedule_timezone)).date()
    requests, skipped = plan_nightly(stores.districts.all(consistent=False), event.scheduled_time, today)
    sent = enqueue(aws_clients.sqs(), settings.sync_queue_url, requests)
    metrics.add_metric(name="SyncRequestsEnqueued", unit=MetricUnit.Count, value=len(sent))
    metrics.add_metric(name="DistrictsSkipped", unit=MetricUnit.Count, value=len(skipped))
    logger.info("nightly fan-out done", extra={"enqueued": len(sent), "skipped": skipped})
    return {"enqueued": sent, "skipped": skipped}
