"""`smartpass-ops holds ...`: a run held for real (ClassLink sends no users for a district we
hold users of: nothing is deactivated, an operator decides), reviewed, approved or rejected."""

from __future__ import annotations

import json

import pytest

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from tests.integration.sync_helpers import TENANT, connect_district, sync
from tests.ops.conftest import Ops


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    """The tests read and write the models directly, so bind them as the handlers do."""
    bind_tables(get_settings())


@pytest.fixture
def held(stack: LocalStack, stack_sandbox: SandboxServer) -> str:
    """District 2001 synced, then a nightly run held because ClassLink sent no users."""
    connect_district(stack, stack_sandbox)
    sync(stack, kind="initial", trigger="invitation")
    stack_sandbox.app.faults.add(Fault(kind="empty", tenant_id=int(TENANT), collection="users", times=1))
    sync(stack, kind="nightly", trigger="schedule:held")
    run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert run.state == "held" and District.get(TENANT).state == DistrictState.HELD.value
    return run.run_id


def _active_users() -> list[RosterUser]:
    return [u for u in RosterUser.query(TENANT) if u.active]


def test_list_shows_held_runs_and_why(held: str, ops: Ops) -> None:
    result = ops("holds", "list")
    assert result.exit_code == 0, result.stderr
    assert held in result.stdout and "Maple Valley Schools" in result.stdout
    assert "sent no users" in result.stdout

    [listed] = json.loads(ops("holds", "list", "--json").stdout)
    assert (listed["tenant_id"], listed["run_id"], listed["kind"], listed["stale"]) == (
        TENANT,
        held,
        "nightly",
        False,
    )
    assert listed["held_deactivations"] == len(_active_users()) > 0
    assert json.loads(ops("holds", "list", "--tenant", TENANT, "--json").stdout) == [listed]


def test_show_gives_counts_and_a_sample_without_names(held: str, ops: Ops) -> None:
    users = _active_users()
    result = ops("holds", "show", TENANT, held, "--sample", "5")
    assert result.exit_code == 0, result.stderr
    assert f"would deactivate {len(users)} record(s)" in result.stdout
    assert "users" in result.stdout and "absent" in result.stdout
    assert "Sample (5 of" in result.stdout
    shown = [u for u in users if u.sourced_id in result.stdout]
    assert len(shown) == 5
    for user in users:  # identifiers only: no person's name or e-mail
        assert user.family_name not in result.stdout
        assert not user.email or user.email not in result.stdout


def test_approve_applies_the_held_deactivations(held: str, ops: Ops) -> None:
    before = len(_active_users())
    declined = ops("holds", "approve", TENANT, held, "--operator", "alice", input="n\n")
    assert declined.exit_code == 1 and len(_active_users()) == before

    result = ops("holds", "approve", TENANT, held, "--operator", "alice", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert f"Approved by alice: {before} deactivated, 0 no longer applicable" in result.stdout
    assert _active_users() == []
    run = SyncRun.get(TENANT, held)
    assert (run.state, run.decided_by) == ("approved", "alice")
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    assert json.loads(ops("holds", "list", "--json").stdout) == []
    # The district's last run reads as decided, not held, wherever it is shown.
    [listed] = json.loads(ops("districts", "list", "--json").stdout)
    assert (listed["last_run"]["state"], listed["last_run"]["counts"]["deactivated"]) == ("approved", before)

    again = ops("holds", "approve", TENANT, held, "--operator", "alice", "--yes")
    assert again.exit_code == 1 and "is approved, not held" in again.stderr


def test_reject_deactivates_nothing(held: str, ops: Ops) -> None:
    before = len(_active_users())
    result = ops("holds", "reject", TENANT, held, "--operator", "bob", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "Rejected by bob: nothing was deactivated" in result.stdout
    assert len(_active_users()) == before
    assert SyncRun.get(TENANT, held).state == "rejected"
    assert District.get(TENANT).state == DistrictState.ACTIVE.value


def test_a_hold_superseded_by_a_later_run_is_stale(held: str, stack: LocalStack, ops: Ops) -> None:
    sync(stack, kind="manual", trigger="decide-afresh")  # ClassLink sends users again
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    assert json.loads(ops("holds", "list", "--json").stdout) == []
    [stale] = json.loads(ops("holds", "list", "--all", "--json").stdout)
    assert (stale["run_id"], stale["stale"]) == (held, True)
    result = ops("holds", "approve", TENANT, held, "--operator", "alice", "--yes")
    assert result.exit_code == 1 and "stale" in result.stderr
    # It can be closed, and that leaves the district to the later run's verdict.
    District.get(TENANT).update(actions=[District.state_reason.set("kept by the later run")])
    result = ops("holds", "reject", TENANT, held, "--operator", "alice", "--yes")
    assert result.exit_code == 0, result.stderr
    assert SyncRun.get(TENANT, held).state == "rejected"
    district = District.get(TENANT)
    assert (district.state, district.state_reason) == (DistrictState.ACTIVE.value, "kept by the later run")
    assert json.loads(ops("holds", "list", "--all", "--json").stdout) == []


def test_show_of_a_run_that_is_not_held_says_so(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops
) -> None:
    connect_district(stack, stack_sandbox)
    sync(stack, kind="initial", trigger="invitation")
    run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
    result = ops("holds", "show", TENANT, run.run_id)
    assert result.exit_code == 1 and "is succeeded, not held" in result.stderr
    assert ops("holds", "list").stdout.strip() == "No held runs waiting for a decision."


def test_a_hold_is_decided_once_while_one_operator_decides_another_cannot(held: str, ops: Ops) -> None:
    before = len(_active_users())
    # Alice's approval has claimed the run and is applying it (as an interrupted one would leave it).
    SyncRun.get(TENANT, held).update(actions=[SyncRun.decided_by.set("alice")])
    result = ops("holds", "reject", TENANT, held, "--operator", "bob", "--yes")
    assert result.exit_code == 1 and "being decided by alice" in result.stderr
    assert SyncRun.get(TENANT, held).state == "held"
    # Alice can finish what she started.
    result = ops("holds", "approve", TENANT, held, "--operator", "alice", "--yes")
    assert result.exit_code == 0, result.stderr
    assert SyncRun.get(TENANT, held).state == "approved"
    assert len(_active_users()) < before
    result = ops("holds", "reject", TENANT, held, "--operator", "bob", "--yes")
    assert result.exit_code == 1 and "not held" in result.stderr
