"""Event sources: schedule ticks, SQS event source mappings, SNS subscriptions.

They follow Lambda's rules. An SQS batch is deleted only for the records that succeeded; with
ReportBatchItemFailures the response names the failures, and a response naming a message that
was not in the batch fails the whole batch; an exception fails the whole batch. Failed records
become visible again after the queue's visibility timeout and go to the DLQ by its redrive.

Schedules and SNS invoke asynchronously: a failed invocation is retried MaximumRetryAttempts
times (Lambda waits about 1 and 2 minutes between them; here they follow at once), then the
OnFailure destination receives Lambda's invocation record.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_stack.functions import Invocation, LocalFunction
from local_stack.lambda_events import scheduler_input, sns_event, sqs_event
from local_stack.template import ACCOUNT_ID

log = logging.getLogger("local_stack")


@dataclass
class AsyncInvoker:
    sqs: Any
    failures_sent: int = 0

    def invoke(self, function: LocalFunction, event: Any, kind: str) -> Invocation:
        attempts = 1 + function.max_async_retries
        outcome = function.invoke(event, kind=kind)
        for _ in range(attempts - 1):
            if outcome.ok:
                return outcome
            outcome = function.invoke(event, kind=kind)
        if not outcome.ok:
            log.error("%s failed %d attempts: %s", function.logical_id, attempts, outcome.error)
            if function.on_failure_arn:
                self._send_failure(function, event, outcome, attempts)
        return outcome

    def _send_failure(self, function: LocalFunction, event: Any, outcome: Invocation, attempts: int) -> None:
        error_type, _, message = (outcome.error or "").partition(": ")
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{function.region}:{ACCOUNT_ID}:function:"
                f"{function.physical_name}",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorType": error_type, "errorMessage": message.split("\n", 1)[0]},
        }
        assert function.on_failure_arn is not None
        queue_url = self.sqs.get_queue_url(QueueName=function.on_failure_arn.rsplit(":", 1)[1])["QueueUrl"]
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record, default=str))
        self.failures_sent += 1


@dataclass
class ScheduleSource:
    function: LocalFunction
    invoker: AsyncInvoker
    name: str
    input_template: str
    expression: str
    fired: int = 0

    def fire(self, at: datetime | None = None) -> Invocation:
        scheduled = (at or datetime.now(UTC)).replace(microsecond=0)
        self.fired += 1
        return self.invoker.invoke(self.function, scheduler_input(self.input_template, scheduled), "schedule")


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
    invoker: AsyncInvoker
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
            event = sns_event(json.loads(message["Body"]), self.subscription_arn)
            # SNS has handed the event to Lambda: from here Lambda's async retries own it.
            self.invoker.invoke(self.function, event, "sns")
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.delivered += 1
        return len(messages)
