"""`smartpass-ops dlq list|redrive` on real dead letters of the local stack: sync requests the
worker failed maxReceiveCount times (SQS's redrive policy moved them), and missed ticks (the
poll failed every retry; Lambda's OnFailure destination sent its record)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass_ops.cli import app
from tests.integration.sync_helpers import TENANT, connect_district, request, send
from tests.ops.conftest import Ops

# What an operator's manual sync might carry as its trigger: nothing of it may be listed.
TRIGGER = "operator:jane.roe@district.example"
MAX_RECEIVES = 3  # the sync queue's maxReceiveCount (template.yaml)
COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    bind_tables(get_settings())


def _dead_letter(stack: LocalStack, body: dict[str, Any] | str) -> None:
    """A sync message the worker fails on every delivery, until SQS moves it to the DLQ."""
    send(stack, body)
    source = stack.sqs_sources[0]
    for _ in range(MAX_RECEIVES):
        failed = source.failed
        stack.drain()
        assert source.failed == failed + 1
        source.release_failed()  # stands in for the 30-minute visibility timeout
    stack.drain()  # this receive finds it past maxReceiveCount: SQS moves it to the DLQ
    assert _depth(stack, "SyncDeadLetterQueue") == (1, 0)


def _depth(stack: LocalStack, queue: str) -> tuple[int, int]:
    url = stack.ref(queue) if not queue.startswith("http") else queue
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=list(COUNTS),
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_failed_sync_is_listed_without_personal_data_then_redriven_and_run(
    ops: Ops, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    # The district is not registered yet: the worker refuses the request each time.
    _dead_letter(stack, request(trigger=TRIGGER))
    listing = ops("dlq", "list", "--queue", "sync")
    assert listing.exit_code == 0, listing.stdout
    answer = json.loads(ops("dlq", "list", "--queue", "sync", "--json").stdout)["sync"]
    [letter] = answer["shown"]
    assert answer["messages"] == 1
    assert letter["fields"]["tenant_id"] == TENANT and letter["fields"]["kind"] == "manual"
    assert set(letter["fields"]) <= {"source_queue", "tenant_id", "kind", "run_id", "requested_at", "piece"}
    assert letter["receive_count"] >= MAX_RECEIVES and letter["problem"] is None
    assert letter["message_id"] in listing.stdout and letter["fields"]["run_id"] in listing.stdout
    assert "jane" not in listing.stdout and "jane" not in json.dumps(answer)
    assert _depth(stack, "SyncDeadLetterQueue") == (1, 0)  # reading hid nothing

    connect_district(stack, stack_sandbox)  # the cause, fixed
    moved = ops("dlq", "redrive", "--yes")
    assert moved.exit_code == 0, moved.stdout + moved.stderr
    assert "Moved 1 of 1 message(s) back to the sync queue." in moved.stdout
    assert _depth(stack, "SyncDeadLetterQueue") == (0, 0)
    stack.drain(timeout_seconds=120)
    run = SyncRun.get(TENANT, letter["fields"]["run_id"])
    assert (run.kind, run.state, run.trigger) == ("manual", "succeeded", TRIGGER)
    assert _depth(stack, stack.environment["SYNC_QUEUE_URL"]) == (0, 0)


def test_redrive_shows_the_messages_and_changes_nothing_unless_confirmed(ops: Ops, stack: LocalStack) -> None:
    _dead_letter(stack, request(trigger="night-1"))
    declined = ops("dlq", "redrive", input="n\n")
    assert declined.exit_code == 1
    assert "holds 1 message(s)" in declined.stdout and TENANT in declined.stdout
    assert "Nothing was changed." in declined.stderr
    assert _depth(stack, "SyncDeadLetterQueue") == (1, 0)
    assert _depth(stack, stack.environment["SYNC_QUEUE_URL"]) == (0, 0)


def test_a_message_whose_send_fails_stays_in_the_dead_letter_queue(
    stack: LocalStack, ready_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync queue named by the stack is gone (say, replaced by a redeploy): SQS refuses the
    send, and the message must still be in the DLQ afterwards."""
    _dead_letter(stack, request(trigger="night-2"))
    ready = json.loads(ready_file.read_text())
    missing = ready["environment"]["SYNC_QUEUE_URL"].rsplit("/", 1)[0] + "/no-such-sync-queue"
    ready["environment"]["SYNC_QUEUE_URL"] = missing
    broken = tmp_path / "broken-stack.json"
    broken.write_text(json.dumps(ready))
    # The CLI puts the stack's environment into this process's, as Lambda would: keep ours.
    monkeypatch.setenv("SYNC_QUEUE_URL", stack.environment["SYNC_QUEUE_URL"])
    result = CliRunner().invoke(
        app,
        ["--ready-file", str(broken), "dlq", "redrive", "--yes"],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "Moved 0 of 1 message(s)" in result.stdout
    assert "could not be moved and stay in the dead-letter queue" in result.stderr
    assert "send failed: " in result.stderr
    assert "QueueDoesNotExist" in result.stderr or "NonExistentQueue" in result.stderr
    assert _depth(stack, "SyncDeadLetterQueue") == (1, 0)


def test_a_malformed_request_is_shown_as_such_never_its_body_and_can_be_discarded(
    ops: Ops, stack: LocalStack
) -> None:
    _dead_letter(stack, '{"tenant_id": "2001", "kind": "nightly", "note": "jane.roe"')  # cut short
    listing = ops("dlq", "list")
    assert listing.exit_code == 0
    assert "not JSON" in listing.stdout and "jane" not in listing.stdout
    assert "The schedule dead-letter queue is empty." in listing.stdout
    # Never sent back: the worker would only reject it again.
    kept = ops("dlq", "redrive", "--yes")
    assert kept.exit_code == 1 and "can never read stay here" in kept.stdout
    assert _depth(stack, "SyncDeadLetterQueue") == (1, 0)
    assert _depth(stack, stack.environment["SYNC_QUEUE_URL"]) == (0, 0)
    discarded = ops("dlq", "redrive", "--discard", "--yes")
    assert discarded.exit_code == 0, discarded.stderr
    assert "Deleted 1 of 1 message(s)." in discarded.stdout
    assert _depth(stack, "SyncDeadLetterQueue") == (0, 0)
    assert _depth(stack, stack.environment["SYNC_QUEUE_URL"]) == (0, 0)


def test_a_missed_tick_says_which_function_failed_and_is_discarded_not_redriven(
    ops: Ops, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    # The Partner API fails the poll's first attempt and both of Lambda's async retries.
    stack_sandbox.app.faults.add(Fault(kind="http_503", collection="applications", times=3))
    assert not stack.fire("InvitationPollFunction.PollSchedule").ok
    assert _depth(stack, "ScheduleDeadLetterQueue") == (1, 0)
    answer = json.loads(ops("dlq", "list", "--queue", "schedule", "--json").stdout)["schedule"]
    [letter] = answer["shown"]
    fields = letter["fields"]
    assert fields["function"].endswith("InvitationPollFunction")
    assert (fields["failed"], fields["condition"], fields["attempts"]) == (
        "function invocation",
        "RetriesExhausted",
        "3",
    )
    assert fields["trigger"].startswith("schedule 20") and fields["error_type"] == "ClassLinkError"
    assert "503" in fields["error_message"]
    assert stack_sandbox.world.partner_api_key not in json.dumps(answer)

    refused = ops("dlq", "redrive", "--queue", "schedule", "--yes")
    assert refused.exit_code == 2
    assert "not redriven" in refused.stderr and "--discard" in refused.stderr
    assert _depth(stack, "ScheduleDeadLetterQueue") == (1, 0)
    discarded = ops("dlq", "redrive", "--queue", "schedule", "--discard", "--yes")
    assert discarded.exit_code == 0 and "Deleted 1 of 1 message(s)." in discarded.stdout
    assert _depth(stack, "ScheduleDeadLetterQueue") == (0, 0)


def test_empty_queues(ops: Ops) -> None:
    listing = ops("dlq", "list")
    assert listing.exit_code == 0
    assert "The sync dead-letter queue is empty." in listing.stdout
    assert "The schedule dead-letter queue is empty." in listing.stdout
    redrive = ops("dlq", "redrive", "--yes")
    assert redrive.exit_code == 0 and "nothing to do" in redrive.stdout
