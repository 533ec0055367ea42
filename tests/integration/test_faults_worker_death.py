"""Fault survival: a worker invocation that dies at a point of a piece (a dependency it calls
raises, as a crash, a kill or a timeout would leave it), then SQS delivers the message again.

The death escapes the handler (the message fails), the run keeps its lease and its last
checkpoint, and the redelivered piece runs again from there; on the message's last delivery the
run fails cleanly instead. Each phase: mid-page (a record being created), between write batches,
while judging absence, while applying deactivations, during the report."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.roster_store import DynamoRosterReader, DynamoRosterStore
from smartpass.sync.pull import CollectionPull
from tests.integration.fault_helpers import assert_invariants, dies_at, record, redeliver, runs, shared
from tests.integration.sync_helpers import TENANT, connect_district, sync
from tests.integration.test_sync import synced

__all__ = ["synced"]

FAMILY = "worker dies mid-piece"


def _small_pages() -> None:
    district = District.get(TENANT)
    district.sync_settings.page_size = 40
    district.save()


@pytest.mark.parametrize(
    ("phase", "owner", "name", "call"),
    [
        ("mid-page (creating a record)", DynamoRosterStore, "create", 30),
        ("between write batches", DynamoRosterStore, "_write_batch", 2),
    ],
)
def test_an_initial_sync_whose_worker_dies_completes_on_redelivery(
    stack: LocalStack,
    stack_sandbox: SandboxServer,
    record_property: Callable[[str, object], None],
    phase: str,
    owner: type,
    name: str,
    call: int,
) -> None:
    connect_district(stack, stack_sandbox)
    _small_pages()
    with dies_at(owner, name, call) as died:
        sync(stack, kind="initial", trigger="invitation")
        assert died, "the fault was never reached"
        assert runs()[0].state == "running"  # the message failed; the run waits for it
        failed = redeliver(stack)
    [run] = runs()
    assert failed == 1 and run.state == "succeeded", run.error
    assert run.reported_at is not None
    checks = assert_invariants(stack_sandbox)
    record(record_property, FAMILY, phase, "completed after 1 redelivery", checks)


def _purge_a_student(sandbox: SandboxServer) -> str:
    tenant = sandbox.world.tenants[int(TENANT)]
    gone = sorted(sid for sid, u in shared(sandbox, "users").items() if u["role"] == "student")[0]
    apply_change(tenant, {"op": "purge", "sourcedIds": [gone]})
    return gone


@pytest.mark.parametrize(
    ("phase", "owner", "name"),
    [
        ("judging absence", CollectionPull, "finish_pull"),
        ("applying deactivations", DynamoRosterStore, "deactivate"),
    ],
)
def test_a_nightly_whose_worker_dies_deactivates_exactly_once_on_redelivery(
    stack: LocalStack,
    synced: SandboxServer,
    record_property: Callable[[str, object], None],
    phase: str,
    owner: type,
    name: str,
) -> None:
    gone = _purge_a_student(synced)
    with dies_at(owner, name) as died:
        sync(stack, kind="nightly", trigger="schedule:dies")
        assert died
        failed = redeliver(stack)
    run = runs()[-1]
    assert failed == 1 and run.state == "succeeded", run.error
    assert run.counts.as_dict()["users"]["deactivated"] == 1
    student = RosterUser.get(TENANT, gone)
    assert not student.active and student.deactivation_reason == "absent"
    checks = assert_invariants(synced)
    record(record_property, FAMILY, phase, "completed after 1 redelivery", checks)


def test_a_worker_that_dies_during_the_report_sends_it_once_on_redelivery(
    stack: LocalStack, stack_sandbox: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    connect_district(stack, stack_sandbox)
    with dies_at(DynamoRosterReader, "records") as died:  # roster health reads the roster
        sync(stack, kind="initial", trigger="invitation")
        assert died
        [run] = runs()
        # The run and the district are finished; the report and the lease wait for redelivery.
        assert run.state == "succeeded" and run.reported_at is None
        assert District.get(TENANT).sync_lease_run_id == run.run_id
        failed = redeliver(stack)
    [run] = runs()
    assert failed == 1 and run.reported_at is not None and run.synced is not None
    sent = [e for e in DistrictEvent.query(TENANT) if e.kind == "report_sent"]
    assert len(sent) == 1
    checks = assert_invariants(stack_sandbox)
    record(
        record_property,
        FAMILY,
        "during the report",
        "completed after 1 redelivery (report sent once)",
        checks,
    )


def test_a_worker_that_dies_at_every_delivery_fails_the_run_cleanly_on_the_last(
    stack: LocalStack, stack_sandbox: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    connect_district(stack, stack_sandbox)
    with dies_at(DynamoRosterStore, "create", call=1, times=10_000):
        sync(stack, kind="initial", trigger="invitation")
        redeliver(stack)
    [run] = runs()
    assert run.state == "failed" and "unexpected Died" in (run.error or "")
    district = District.get(TENANT)
    assert district.state == DistrictState.ERROR.value and district.sync_lease_run_id is None
    assert stack.sqs_sources[0].failed == 2  # the third delivery ended the run, not the DLQ
    dlq = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.ref("SyncDeadLetterQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert dlq["ApproximateNumberOfMessages"] == "0"
    # Nothing it wrote is active and wrong: what was created is what ClassLink sent.
    checks = {
        "nothing_lost": True,  # an initial sync that never completed: nothing was there to lose
        "nothing_wrongly_deactivated": not [u for u in RosterUser.query(TENANT) if not u.active],
        "none_stuck_in_syncing": district.state != DistrictState.SYNCING.value,
    }
    assert all(checks.values()), checks
    outcome = "failed cleanly on the 3rd (last) delivery; the next nightly retries it"
    record(record_property, FAMILY, "at every delivery", outcome, checks)
