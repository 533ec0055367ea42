"""`smartpass-ops sync ...`: a manual sync queued like the system's own, followed to its end
while the local stack's worker runs it (as `make run` would, here in a background thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sync import report_delivery
from tests.integration.sync_helpers import TENANT, connect_district, sync
from tests.ops.conftest import Ops


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    """The tests read and write the models directly, so bind them as the handlers do."""
    bind_tables(get_settings())


@contextmanager
def worker_running(stack: LocalStack, seconds: float = 120.0) -> Iterator[None]:
    """Deliver queued messages in the background until the block ends (or `seconds` pass)."""
    stop = threading.Event()

    def deliver() -> None:
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if stack.drain(timeout_seconds=5.0) == 0:
                stop.wait(0.1)

    thread = threading.Thread(target=deliver, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _active(stack: LocalStack, sandbox: SandboxServer) -> None:
    connect_district(stack, sandbox)
    sync(stack, kind="initial", trigger="invitation")
    assert District.get(TENANT).state == DistrictState.ACTIVE.value


def test_start_follows_the_run_to_its_end(stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops) -> None:
    _active(stack, stack_sandbox)
    with worker_running(stack):
        result = ops("sync", "start", TENANT, "--operator", "alice", "--interval", "0.1", "--timeout", "120")
    assert result.exit_code == 0, result.stdout + result.stderr
    run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert (run.kind, run.trigger, run.state) == ("manual", "operator:alice", "succeeded")
    assert f"Manual sync queued: {run.run_id}" in result.stdout
    assert "The sync finished" in result.stdout
    unchanged = int(run.counts.as_dict()["total"]["unchanged"])
    assert unchanged > 0 and f"{unchanged} unchanged" in result.stdout
    assert "users:" in result.stdout  # per collection
    requested = [e for e in DistrictEvent.query(TENANT) if e.kind == "sync_requested"]
    assert [e.actor for e in requested] == ["operator:alice"]


def test_the_summary_has_the_findings_the_worker_writes_after_the_final_state(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker writes a run's final state, then its roster health, then releases the district's
    lease. A summary read between the two lacked the `Finding:` lines (2 tries in 9); a slow
    health check makes that gap wide enough to hit every time."""
    _active(stack, stack_sandbox)
    health = report_delivery.roster_health

    def slow_health(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return health(*args, **kwargs)

    monkeypatch.setattr(report_delivery, "roster_health", slow_health)
    with worker_running(stack):
        result = ops("sync", "start", TENANT, "--operator", "alice", "--interval", "0.05", "--timeout", "120")
    assert result.exit_code == 0, result.stdout + result.stderr
    run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert run.kind == "manual" and run.health
    for finding in run.health:
        assert f"Finding: {finding.message}" in result.stdout
    ignored = int(run.counts.as_dict()["total"]["ignored"])
    assert ignored > 0  # the sandbox shares guardians, whose role is never synced
    assert f"{ignored} ignored" in result.stdout and f"Ignored: {ignored} record(s)" in result.stdout
    assert "guardian, parent, relative" in result.stdout


def test_no_follow_then_follow_after_the_worker_ran(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops
) -> None:
    _active(stack, stack_sandbox)
    queued = ops("sync", "start", TENANT, "--no-follow", "--operator", "alice")
    assert queued.exit_code == 0, queued.stderr
    run_id = queued.stdout.split("Manual sync queued: ")[1].split()[0]
    waiting = ops("sync", "follow", TENANT, run_id, "--timeout", "0")
    assert waiting.exit_code == 4 and "has not ended yet (queued)" in waiting.stdout

    stack.drain(timeout_seconds=120)
    result = ops("sync", "follow", TENANT, run_id)
    assert result.exit_code == 0, result.stdout
    assert SyncRun.get(TENANT, run_id).state == "succeeded"


def test_a_held_run_ends_non_zero_and_says_so(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops
) -> None:
    _active(stack, stack_sandbox)
    stack_sandbox.app.faults.add(Fault(kind="empty", tenant_id=int(TENANT), collection="users", times=1))
    with worker_running(stack):
        result = ops("sync", "start", TENANT, "--operator", "alice", "--interval", "0.1", "--timeout", "120")
    assert result.exit_code == 3, result.stdout
    assert "Held for approval" in result.stdout and "sent no users" in result.stdout
    assert "Nothing was deactivated" in result.stdout
    assert District.get(TENANT).state == DistrictState.HELD.value


def test_a_failed_run_ends_non_zero_with_the_reason(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops
) -> None:
    _active(stack, stack_sandbox)
    stack_sandbox.app.faults.add(Fault(kind="http_500", tenant_id=int(TENANT), collection="users"))
    with worker_running(stack):
        result = ops("sync", "start", TENANT, "--operator", "alice", "--interval", "0.1", "--timeout", "120")
    assert result.exit_code == 1, result.stdout
    assert "The sync failed" in result.stdout
    run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert run.state == "failed" and run.error and run.error[:40] in result.stdout.replace("\n", "")


def test_a_paused_or_unknown_district_is_refused_at_once(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops
) -> None:
    connect_district(stack, stack_sandbox, state=DistrictState.PAUSED.value)
    paused = ops("sync", "start", TENANT, "--operator", "alice")
    assert paused.exit_code == 1
    assert "is paused" in paused.stderr and "resume it first" in paused.stderr
    unknown = ops("sync", "start", "9999", "--operator", "alice")
    assert unknown.exit_code == 1 and "no district with tenant id 9999" in unknown.stderr
    assert int(stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.environment["SYNC_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]) == 0  # fmt: skip


@pytest.mark.parametrize("run_id", ["not-a-run", "2020-01-01T00:00:00.000000Z#manual#0123456789ab"])
def test_following_a_run_that_will_never_exist_fails_at_once(ops: Ops, run_id: str) -> None:
    result = ops("sync", "follow", TENANT, run_id, "--timeout", "600")
    assert result.exit_code == 1 and f"has no run {run_id}" in result.stderr
