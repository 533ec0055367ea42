"""The dead-letter queues, read and emptied by an operator: what is in them (no personal data),
and moving a message back to the queue it came from, or deleting it once read.

Two queues (template.yaml):
- the sync DLQ: sync requests the worker failed `maxReceiveCount` times. Its source is the
  sync queue; a request is idempotent (its run id), so sending one back is safe once the cause
  is fixed.
- the schedule DLQ: missed ticks, i.e. schedule deliveries EventBridge Scheduler gave up on and
  asynchronous invocations (schedule ticks, e-mail nudges) of the poll and fan-out functions
  that failed every retry. They are not redriven: the next tick does the same work (the poll
  reconciles every district, the fan-out enqueues the night's syncs), and replaying an old tick
  later would be wrong or useless. An operator reads them to learn which function failed and
  why, then deletes them.

Reading never shows a message's body: only fields known to be safe (a sync request's tenant,
kind, run id and request time; a failure record's function, condition and error). Peeking keeps
messages hidden for a few seconds at most and makes them visible again at once.

SQS's own redrive (StartMessageMoveTask) moves a whole queue and is not in moto, so a move is
done message by message: send the same body and attributes to the source queue, and only then
delete it from the DLQ. A message whose send fails stays in the DLQ. A message whose delete fails
after its send is in both queues; the worker's idempotency (same run id) makes the copy harmless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from smartpass.data.sync_runs import SyncKind
from smartpass.sync.requests import TENANT_ID_PATTERN, SyncRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient as SQS

PEEK_VISIBILITY_SECONDS = 5  # how long a peeked message is hidden if releasing it fails
MOVE_VISIBILITY_SECONDS = 30  # long enough to send one message and delete it
WAIT_SECONDS = 1  # long polling asks every SQS server: a short poll may miss messages
STALE_ROUNDS = 3  # receives in a row that bring nothing new end a walk through the queue
SCHEDULE_QUEUE = "schedule"
SYNC_QUEUE = "sync"
REDRIVABLE = frozenset({SYNC_QUEUE})

RUN_ID = re.compile(r"^[0-9TZ:.\-]{20,32}#[a-z]{1,16}#[0-9a-f]{6,64}$")
ERROR_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    sent_at: datetime | None  # when it was first sent (to the source queue)
    receive_count: int  # deliveries so far, the ones that failed included
    # Known-safe fields only: never the body. Sync: tenant_id, kind, run_id, requested_at,
    # piece. Schedule: function, condition, attempts, error_type, error_message, trigger...
    fields: dict[str, str]
    problem: str | None = None  # e.g. a body that is not a sync request (redriving fails again)


@dataclass
class Outcome:
    """What a redrive or discard did, by DLQ message id."""

    done: list[str] = field(default_factory=list)
    # id -> which step failed and SQS's error code ("send failed: QueueDoesNotExist"); a message
    # whose delete failed was sent all the same (see the module on duplicates).
    failed: dict[str, str] = field(default_factory=dict)
    not_found: list[str] = field(default_factory=list)  # gone meanwhile, or in flight elsewhere


def queue_depth(sqs: SQS, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def peek(sqs: SQS, queue_url: str, kind: str, limit: int = 100) -> list[DeadLetter]:
    """Up to `limit` messages of a DLQ, described without their bodies, oldest first; every
    message is visible again when this returns."""
    seen: dict[str, DeadLetter] = {}
    receipts: list[str] = []
    stale = 0
    try:
        while len(seen) < limit and stale < STALE_ROUNDS:
            messages = _receive(sqs, queue_url, PEEK_VISIBILITY_SECONDS)
            if not messages:
                break
            receipts += [m["ReceiptHandle"] for m in messages]
            new = [m for m in messages if m["MessageId"] not in seen]
            stale = 0 if new else stale + 1
            for message in new[: limit - len(seen)]:
                seen[message["MessageId"]] = describe(message, kind)
    finally:
        _release(sqs, queue_url, receipts)
    return sorted(seen.values(), key=lambda d: (d.sent_at or datetime.min.replace(tzinfo=UTC), d.message_id))


def redrive(
    sqs: SQS,
    dead_letter_url: str,
    source_url: str,
    message_ids: Collection[str],
    on_message: Callable[[str, bool], object] = lambda message_id, ok: None,
) -> Outcome:
    """Move these messages back to their source queue: send, then delete (see the module)."""

    def move(message: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"], **_message_attributes(message))

    return _take(sqs, dead_letter_url, message_ids, move, on_message)


def discard(
    sqs: SQS,
    dead_letter_url: str,
    message_ids: Collection[str],
    on_message: Callable[[str, bool], object] = lambda message_id, ok: None,
) -> Outcome:
    """Delete these messages (an operator has read them); others in the queue stay."""
    return _take(sqs, dead_letter_url, message_ids, lambda message: None, on_message)


def _take(
    sqs: SQS,
    queue_url: str,
    message_ids: Collection[str],
    act: Callable[[dict[str, Any]], None],
    on_message: Callable[[str, bool], object],
) -> Outcome:
    """Receive until every wanted message was handled: `act` on it, then delete it from the DLQ.
    A message `act` fails on, and every message not asked for, is made visible again."""
    wanted = set(message_ids)
    outcome = Outcome()
    release: list[str] = []
    received: set[str] = set()
    stale = 0
    try:
        while wanted and stale < STALE_ROUNDS:
            # Messages not asked for stay hidden until the end, so each receive brings others.
            messages = _receive(sqs, queue_url, MOVE_VISIBILITY_SECONDS)
            if not messages:
                break
            stale = 0 if any(m["MessageId"] not in received for m in messages) else stale + 1
            received |= {m["MessageId"] for m in messages}
            mine = [m for m in messages if m["MessageId"] in wanted]
            release += [m["ReceiptHandle"] for m in messages if m["MessageId"] not in wanted]
            for message in mine:
                message_id = message["MessageId"]
                wanted.discard(message_id)
                step = "send"
                try:
                    act(message)
                    step = "delete"
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "error")
                    outcome.failed[message_id] = f"{step} failed: {code}"
                    release.append(message["ReceiptHandle"])
                    on_message(message_id, False)
                else:
                    outcome.done.append(message_id)
                    on_message(message_id, True)
    finally:
        _release(sqs, queue_url, release)
    outcome.not_found = sorted(wanted)
    return outcome


def _receive(sqs: SQS, queue_url: str, visibility: int) -> list[dict[str, Any]]:
    answer = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        WaitTimeSeconds=WAIT_SECONDS,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return [dict(m) for m in answer.get("Messages", [])]


def _release(sqs: SQS, queue_url: str, receipts: list[str]) -> None:
    """Visible again now; a receipt no longer valid (deleted meanwhile) is nothing to release."""
    unique = list(dict.fromkeys(receipts))
    for start in range(0, len(unique), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                for n, receipt in enumerate(unique[start : start + 10])
            ],
        )


def _message_attributes(message: dict[str, Any]) -> dict[str, Any]:
    """The message's own attributes as send_message takes them (receive adds empty lists)."""
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {"MessageAttributes": attributes} if attributes else {}


# ------------------------------------------------------------------ describing, safely
def describe(message: dict[str, Any], kind: str) -> DeadLetter:
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    fields, problem = (_sync_fields if kind == SYNC_QUEUE else _schedule_fields)(message)
    source = attributes.get("DeadLetterQueueSourceArn")
    if source:
        fields = {"source_queue": source.rsplit(":", 1)[-1], **fields}
    return DeadLetter(
        message_id=message["MessageId"],
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        fields=fields,
        problem=problem,
    )


def _json(body: str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _sync_fields(message: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    body = message.get("Body", "")
    value = _json(body)
    if value is None:
        return {}, f"not JSON ({len(body)} bytes): the worker can never read it; discard it"
    fields: dict[str, str] = {}
    # Each field only when it has the shape it should: a malformed message could carry anything.
    if isinstance(value.get("tenant_id"), str) and re.fullmatch(TENANT_ID_PATTERN, value["tenant_id"]):
        fields["tenant_id"] = value["tenant_id"]
    if value.get("kind") in {k.value for k in SyncKind}:
        fields["kind"] = value["kind"]
    if isinstance(value.get("run_id"), str) and RUN_ID.fullmatch(value["run_id"]):
        fields["run_id"] = value["run_id"]
    requested = _timestamp(value.get("requested_at"))
    if requested:
        fields["requested_at"] = requested
    if isinstance(value.get("piece"), int) and value["piece"]:
        fields["piece"] = str(value["piece"])
    try:
        request = SyncRequest.model_validate_json(body)
    except ValidationError:
        return fields, "not a valid sync request: the worker rejects it again; discard it"
    fields.setdefault("run_id", request.resolved_run_id())
    return fields, None


def _schedule_fields(message: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    scheduler = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
    if "ERROR_CODE" in scheduler or "TARGET_ARN" in scheduler:
        # EventBridge Scheduler could not deliver a tick: its attributes say which and why.
        fields = {
            "failed": "schedule delivery",
            "schedule": scheduler.get("SCHEDULE_ARN", "").rsplit("/", 1)[-1],
            "function": scheduler.get("TARGET_ARN", "").rsplit(":", 1)[-1],
            "error_type": scheduler.get("ERROR_CODE", ""),
            "error_message": _clip(scheduler.get("ERROR_MESSAGE", "")),
            "attempts": scheduler.get("RETRY_ATTEMPTS", ""),
        }
        return {k: v for k, v in fields.items() if v}, None
    record = _json(message.get("Body", ""))
    if record is None or "requestContext" not in record:
        return {}, "not a failure record of Lambda or the Scheduler"
    context = record["requestContext"] if isinstance(record["requestContext"], dict) else {}
    response = record.get("responsePayload")
    response = response if isinstance(response, dict) else {}
    fields = {
        "failed": "function invocation",
        "function": str(context.get("functionArn", "")).split(":function:", 1)[-1].split(":", 1)[0],
        "condition": str(context.get("condition", "")),
        "attempts": str(context.get("approximateInvokeCount", "")),
        "trigger": _trigger(record.get("requestPayload")),
        "error_type": str(response.get("errorType", "")),
        # What the function's own log line already says (our errors never carry roster data,
        # tokens or secrets); one line, clipped.
        "error_message": _clip(str(response.get("errorMessage", ""))),
        "failed_at": _timestamp(record.get("timestamp")) or "",
    }
    return {k: v for k, v in fields.items() if v}, None


def _trigger(payload: Any) -> str:
    """What invoked the function: a schedule tick (and its time) or an SNS e-mail nudge; never
    the payload itself (an e-mail notification could name a person)."""
    if not isinstance(payload, dict):
        return ""
    if isinstance(payload.get("Records"), list) and payload["Records"]:
        first = payload["Records"][0]
        return "sns" if isinstance(first, dict) and "Sns" in first else "event"
    if payload.get("source") == "schedule":
        scheduled = _timestamp(payload.get("scheduled_time"))
        return f"schedule {scheduled}" if scheduled else "schedule"
    return ""


def _timestamp(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def _clip(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= ERROR_MESSAGE_CHARS else line[: ERROR_MESSAGE_CHARS - 1] + "…"
