"""Event sources: schedule ticks, SQS event source mappings, SNS subscriptions.

They follow Lambda's rules: an SQS batch is deleted only for the records that succeeded; with
ReportBatchItemFailures the response names the failures, and a response naming a message that
was not in the batch fails the whole batch; an exception fails the whole batch. Failed records
become visible again after the queue's visibility timeout and go to the DLQ by its redrive.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_stack.functions import LocalFunction
from local_stack.lambda_events import scheduler_input, sns_event, sqs_event

log = logging.getLogger("local_stack")


@dataclass
class ScheduleSource:
    function: LocalFunction
    name: str
    input_template: str
    expression: str
    fired: int = 0

    def fire(self, at: datetime | None = None) -> Any:
        scheduled = (at or datetime.now(UTC)).replace(microsecond=0)
        outcome = self.function.invoke(scheduler_input(self.input_template, scheduled), kind="schedule")
        self.fired += 1
        if not outcome.ok:
            log.error("schedule %s -> %s failed: %s", self.name, self.function.logical_id, outcome.error)
        return outcome


@dataclass
class SqsSource:
    function: LocalFunction
    sqs: Any
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    deleted: int = 0
    failed: int = 0
    whole_batch_failures: int = 0
    errors: list[str] = field(default_factory=list)
    # Receipt handles of failed records, still invisible until the visibility timeout.
    in_flight: dict[str, str] = field(default_factory=dict)

    def poll(self, wait_seconds: int = 0) -> int:
        """Deliver at most one batch. Returns the number of records handed to the function."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        outcome = self.function.invoke(sqs_event(messages, self.queue_arn, self.function.region), kind="sqs")
        failed_ids = self._failed_ids(messages, outcome.ok, outcome.result, outcome.error)
        for message in messages:
            if message["MessageId"] in failed_ids:
                self.failed += 1
                self.in_flight[message["MessageId"]] = message["ReceiptHandle"]
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                self.deleted += 1
        return len(messages)

    def release_failed(self) -> int:
        """Make failed records visible now, as if their visibility timeout had run out (the
        template's is 30 minutes), so a developer or a test can watch retries and the redrive."""
        released = 0
        for receipt in self.in_flight.values():
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
            )
            released += 1
        self.in_flight.clear()
        return released

    def _failed_ids(
        self, messages: list[dict[str, Any]], ok: bool, result: Any, error: str | None
    ) -> set[str]:
        all_ids = {m["MessageId"] for m in messages}
        if not ok:
            self.whole_batch_failures += 1
            self.errors.append(error or "invocation failed")
            return all_ids
        if not self.report_batch_item_failures:
            return set()
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else None
        if failures is None:
            return set()
        ids = {f.get("itemIdentifier") for f in failures}
        if not ids <= all_ids or any(not i for i in ids):
            # Lambda treats an unknown or empty identifier as a failure of the whole batch.
            self.whole_batch_failures += 1
            return all_ids
        return {i for i in ids if i}


@dataclass
class SnsSource:
    """SNS -> Lambda, carried locally by an SQS queue subscribed to the topic (moto delivers
    SNS to SQS itself), so a boto3 `sns.publish` anywhere reaches the function."""

    function: LocalFunction
    sqs: Any
    queue_url: str
    subscription_arn: str
    delivered: int = 0

    def poll(self, wait_seconds: int = 0) -> int:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = response.get("Messages", [])
        for message in messages:
            outcome = self.function.invoke(
                sns_event(json.loads(message["Body"]), self.subscription_arn), kind="sns"
            )
            # Lambda retries failed async invocations; here the message stays and comes back.
            if outcome.ok:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                self.delivered += 1
            else:
                log.error("sns -> %s failed: %s", self.function.logical_id, outcome.error)
        return len(messages)
