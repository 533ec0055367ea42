"""What a dead-letter listing may show of a message: known-safe fields, never the body. The
local stack produces sync dead letters and Lambda failure records (tests/ops/test_dlq_cli.py);
EventBridge Scheduler's own dead letters (a tick it could not deliver) have no local producer,
so their shape, as AWS documents it, is checked here."""

from __future__ import annotations

import json
from typing import Any

from smartpass.operations.dead_letters import describe


def _message(body: str, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {"SentTimestamp": "1796000000000", "ApproximateReceiveCount": "2"},
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    }


def test_a_scheduler_dead_letter_names_the_schedule_target_and_error() -> None:
    letter = describe(
        _message(
            '{"source": "schedule", "scheduled_time": "2026-11-30T08:30:00Z"}',
            ERROR_CODE="AWS.Lambda.TooManyRequestsException",
            ERROR_MESSAGE="Rate exceeded\nsecond line",
            SCHEDULE_ARN="arn:aws:scheduler:us-east-1:1:schedule/default/smartpass-nightly-sync",
            TARGET_ARN="arn:aws:lambda:us-east-1:1:function:smartpass-NightlySyncFanout",
            RETRY_ATTEMPTS="3",
            EXECUTION_ID="e-1",
        ),
        "schedule",
    )
    assert letter.fields == {
        "failed": "schedule delivery",
        "schedule": "smartpass-nightly-sync",
        "function": "smartpass-NightlySyncFanout",
        "error_type": "AWS.Lambda.TooManyRequestsException",
        "error_message": "Rate exceeded",
        "attempts": "3",
    }
    assert (letter.receive_count, letter.sent_at and letter.sent_at.year) == (2, 2026)


def test_an_sns_nudge_that_failed_is_named_never_shown() -> None:
    record = {
        "timestamp": "2026-11-30T08:30:00Z",
        "requestContext": {
            "functionArn": "arn:aws:lambda:us-east-1:1:function:smartpass-InvitationPoll:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"Records": [{"Sns": {"Message": "From: jane.roe@district.example"}}]},
        "responsePayload": {"errorType": "ClassLinkError", "errorMessage": "x" * 500},
    }
    letter = describe(_message(json.dumps(record)), "schedule")
    assert letter.fields["function"] == "smartpass-InvitationPoll"
    assert letter.fields["trigger"] == "sns"
    assert len(letter.fields["error_message"]) == 200
    assert "jane" not in json.dumps(letter.fields)


def test_a_sync_request_shows_only_fields_of_the_expected_shape() -> None:
    body = {
        "tenant_id": "2001<script>",
        "kind": "manual",
        "trigger": "operator:jane.roe",
        "requested_at": "2026-11-30T08:30:00+00:00",
        "run_id": "not a run id",
    }
    letter = describe(_message(json.dumps(body)), "sync")
    assert letter.fields == {"kind": "manual", "requested_at": "2026-11-30T08:30:00+00:00"}
    assert letter.problem is not None and "not a valid sync request" in letter.problem
