"""The August night end to end: the sandbox district rolls over to a new school year (new terms
and classes, every enrollment carried, the seniors gone), and the nightly sync through the local
stack holds only when the users leaving exceed the district's threshold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterClass, RosterEnrollment, RosterUser
from smartpass.data.sync_runs import SyncRun
from tests.integration.sync_helpers import TENANT, connect_district, sync


def _latest_run() -> SyncRun:
    return max(SyncRun.query(TENANT), key=lambda r: r.run_id)


def _active(model: Any) -> set[str]:
    return {r.sourced_id for r in model.query(TENANT) if r.active}


@pytest.fixture
def seniors(stack: LocalStack, stack_sandbox: SandboxServer) -> Iterator[list[str]]:
    """The district's seniors (students in grade 12); its roster is put back afterwards."""
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    snapshot = {name: {k: dict(v) for k, v in rows.items()} for name, rows in tenant.data.items()}
    yield sorted(sid for sid, u in tenant.users().items() if u["role"] == "student" and "12" in u["grades"])
    tenant.data = snapshot
    tenant.touch()


def _synced_then_rolled_over(stack: LocalStack, sandbox: SandboxServer, minimum: int) -> None:
    """Synced with a threshold of exactly `minimum` records per collection (no share), then the
    SIS rolls over and the nightly sync runs."""
    connect_district(stack, sandbox, deactivation_threshold_percent=0, deactivation_threshold_minimum=minimum)
    sync(stack, kind="initial", trigger="invitation")
    apply_change(sandbox.world.tenants[int(TENANT)], {"op": "rollover"})
    sync(stack, kind="nightly", trigger="schedule:rollover")


def test_a_rollover_syncs_without_a_hold_while_the_seniors_stay_under_the_threshold(
    stack: LocalStack, stack_sandbox: SandboxServer, seniors: list[str]
) -> None:
    old_classes = set(stack_sandbox.world.tenants[int(TENANT)].data["classes"])
    _synced_then_rolled_over(stack, stack_sandbox, minimum=len(seniors))
    old_enrollments = {
        e.sourced_id for e in RosterEnrollment.query(TENANT) if e.sourced_id.split(":")[0] in old_classes
    }
    # Without the rule every class and enrollment would count: both are over the limit.
    assert 0 < len(seniors) < len(old_classes) < len(old_enrollments)

    run = _latest_run()
    assert run.state == "succeeded", run.findings
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    counts = run.counts.as_dict()
    assert counts["users"]["deactivated"] == len(seniors)
    assert counts["classes"]["deactivated"] == len(old_classes) == counts["classes"]["created"]
    assert counts["enrollments"]["deactivated"] == len(old_enrollments)
    assert not _active(RosterUser) & set(seniors)
    assert not _active(RosterClass) & old_classes
    assert not _active(RosterEnrollment) & old_enrollments
    [reason] = [f for f in run.findings if f.startswith("School-year rollover")]
    assert f"{len(old_classes)} classes and {len(old_enrollments)} enrollments to deactivate" in reason


def test_a_rollover_is_held_when_the_seniors_exceed_the_threshold_and_only_for_them(
    stack: LocalStack, stack_sandbox: SandboxServer, seniors: list[str]
) -> None:
    _synced_then_rolled_over(stack, stack_sandbox, minimum=len(seniors) - 1)
    run = _latest_run()
    assert run.state == "held"
    assert District.get(TENANT).state == DistrictState.HELD.value
    held_for = [f for f in run.findings if "would be deactivated" in f or "sent no" in f]
    assert held_for == [
        f"{len(seniors)} of {run.counts.as_dict()['users']['active_before']} active users would be "
        f"deactivated, over the limit of {len(seniors) - 1}"
    ]
    assert any(f.startswith("School-year rollover") for f in run.findings)
    assert set(seniors) <= _active(RosterUser)  # nothing deactivated while it waits
