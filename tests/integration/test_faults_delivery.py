"""Fault survival: SQS delivering the same message to two workers at once, and the nightly tick
fired twice. Both are the same run (one dedupe key: the run id), synced once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.district_history import DistrictEvent
from tests.integration.fault_helpers import WORKER, assert_invariants, record, runs
from tests.integration.sync_helpers import TENANT, request, send
from tests.integration.test_sync import synced

__all__ = ["synced"]

FAMILY = "duplicate deliveries"
NIGHTLY = "NightlySyncFanoutFunction.NightlySchedule"


def _synced_events(run_id: str) -> list[DistrictEvent]:
    return [
        e for e in DistrictEvent.query(TENANT) if e.actor == f"sync-run:{run_id}" and e.to_state == "active"
    ]


def test_the_same_message_delivered_to_two_workers_at_once_syncs_once(
    stack: LocalStack, synced: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    body = request(kind="manual", trigger="operator:twice")
    send(stack, body)
    send(stack, body)  # SQS's at-least-once delivery: a second copy of the same message
    stack.drain(timeout_seconds=120)
    twice = [r for r in runs() if r.trigger == "operator:twice"]
    assert len(twice) == 1 and twice[0].state == "succeeded", [r.state for r in twice]
    assert stack.functions[WORKER].peak_concurrency == 2  # both copies were delivered at once
    assert stack.sqs_sources[0].failed == 0
    assert len(_synced_events(twice[0].run_id)) == 1
    checks = assert_invariants(synced)
    record(record_property, FAMILY, "one message to two workers at once", "completed once", checks)


def test_the_nightly_tick_fired_twice_opens_one_run(
    stack: LocalStack, synced: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    tick = datetime.now(UTC).replace(microsecond=0)
    schedule = stack.schedules[NIGHTLY]
    assert schedule.fire(at=tick).result["enqueued"] == [TENANT]
    assert schedule.fire(at=tick).result["enqueued"] == [TENANT]  # EventBridge Scheduler again
    stack.drain(timeout_seconds=120)
    nightly = [r for r in runs() if r.kind == "nightly"]
    assert len(nightly) == 1 and nightly[0].state == "succeeded", [r.state for r in nightly]
    assert stack.sqs_sources[0].failed == 0
    checks = assert_invariants(synced)
    record(record_property, FAMILY, "the nightly tick fired twice", "completed once (one run)", checks)
