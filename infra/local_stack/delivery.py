"""Event sources: schedule ticks, SQS event source mappings, SNS subscriptions.

They follow Lambda's rules. An SQS batch is deleted only for the records that succeeded; with
ReportBatchItemFailures the response names the failures, and a response naming a message that
was not in the batch fails the whole batch; an exception fails the whole batch. Failed records
become visible again after the queue's visibility timeout and go to the DLQ by its redrive.

Schedules and SNS invoke asynchronously: a failed invocation is retried MaximumRetryAttempts
times (Lambda waits about 1 and 2 minutes between them; here they follow at once), then the
OnFailure destination receives Lambda's invocation record.

An SQS source delivers up to its ScalingConfig.MaximumConcurrency batches at once, each on its
own thread, each thread taking the next batch as soon as its invocation ends (see functions.py
for what running them in one process means); without that setting it delivers one batch at a
time.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

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
    # ScalingConfig.MaximumConcurrency of this event source mapping (1 when it sets none).
    max_concurrency: int = 1
    deleted: int = 0
    failed: int = 0
    whole_batch_failures: int = 0
    errors: list[str] = field(default_factory=list)
    # Receipt handles of failed records, still invisible until the visibility timeout.
    in_flight: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def poll(self, wait_seconds: int = 0) -> int:
        """Deliver until the queue has nothing visible: up to `max_concurrency` lanes, each on
        its own thread, each taking the next batch as soon as its invocation is over (as Lambda's
        pollers keep MaximumConcurrency invocations busy, rather than waiting for the slowest
        of a round). Returns the number of records handed to the function, once every
        invocation is over."""
        batches: list[list[dict[str, Any]]] = []
        while len(batches) < self.max_concurrency:
            messages = self._receive(wait_seconds if not batches else 0)
            if not messages:
                break
            batches.append(messages)
        if len(batches) == 1:
            return self._lane(batches[0])
        if not batches:
            return 0
        prefix = f"sqs-{self.function.logical_id}"
        with ThreadPoolExecutor(len(batches), thread_name_prefix=prefix) as pool:
            return sum(pool.map(self._lane, batches))  # re-raises what a delivery raised

    def _lane(self, batch: list[dict[str, Any]]) -> int:
        delivered = 0
        while batch:
            self._deliver(batch)
            delivered += len(batch)
            batch = self._receive(0)
        return delivered

    def _receive(self, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        outcome = self.function.invoke(sqs_event(messages, self.queue_arn, self.function.region), kind="sqs")
        with self._lock:
            failed_ids = self._failed_ids(messages, outcome.ok, outcome.result, outcome.error)
        for message in messages:
            if message["MessageId"] in failed_ids:
                with self._lock:
                    self.failed += 1
                    self.in_flight[message["MessageId"]] = message["ReceiptHandle"]
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                with self._lock:
                    self.deleted += 1

    def release_failed(self) -> int:
        """Make failed records visible now, as if their visibility timeout had run out (the
        template's is 30 minutes), so a developer or a test can watch retries and the redrive."""
        with self._lock:
            receipts = list(self.in_flight.values())
            self.in_flight.clear()
        released = 0
        for receipt in receipts:
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
            except ClientError as error:  # deleted meanwhile (by a test, or redriven): nothing to do
                if error.response["Error"]["Code"] != "ReceiptHandleIsInvalid":
                    raise
            else:
                released += 1
        return released

    def reset(self) -> None:
        """Forget counters and tracked receipts (release them first to keep their messages)."""
        with self._lock:
            self.deleted = self.failed = self.whole_batch_failures = 0
            self.errors.clear()
            self.in_flight.clear()

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
