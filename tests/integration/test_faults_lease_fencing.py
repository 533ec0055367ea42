"""Fault survival: a worker that outlives its lease. Its lease expires while it is still at work
(stalled past the expiry), another run takes the district over and finishes, then the first
worker wakes up. Its late writes must not undo the newer run's: a write already in flight is
refused by the fencing token on the record, and the next page's writes never go out (the lease
is renewed, and found lost, before them). The stale run ends failed; the district keeps the
newer run's state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.classlink.oneroster import OneRosterClient
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.roster_store import DynamoRosterStore
from smartpass.sync.lease import LEASE_LOST
from tests.integration.fault_helpers import assert_invariants, in_background, record, runs, shared, stalls
from tests.integration.sync_helpers import TENANT, request, send
from tests.integration.test_sync import synced

__all__ = ["synced"]

FAMILY = "lease expires while the first worker still writes"


def _rename(sandbox: SandboxServer, sourced_id: str, family_name: str) -> None:
    tenant = sandbox.world.tenants[int(TENANT)]
    apply_change(tenant, {"op": "edit_user", "sourcedId": sourced_id, "fields": {"familyName": family_name}})


def _users_page(_client: Any, endpoint: str, *args: Any, **kwargs: Any) -> bool:
    return endpoint.endswith("users")


@pytest.mark.parametrize(
    ("where", "owner", "name", "after", "when"),
    [
        # A's update of the student is in flight (its lease was renewed just before the page).
        ("stalled while writing a record", DynamoRosterStore, "update", False, lambda *a, **k: True),
        # A holds the users page it fetched; its writes have not gone out yet.
        ("stalled between fetching a page and writing it", OneRosterClient, "page", True, _users_page),
    ],
)
def test_a_run_that_outlived_its_lease_cannot_undo_the_run_that_took_over(
    stack: LocalStack,
    synced: SandboxServer,
    record_property: Callable[[str, object], None],
    where: str,
    owner: type,
    name: str,
    after: bool,
    when: Callable[..., bool],
) -> None:
    student = sorted(sid for sid, u in shared(synced, "users").items() if u["role"] == "student")[5]
    _rename(synced, student, "Stale")  # what the first run reads and will write late
    with stalls(owner, name, after=after, when=when) as stall:
        send(stack, request(kind="nightly", trigger="schedule:stale"))
        first_worker = in_background(lambda: stack.drain(timeout_seconds=120))
        assert stall.entered.wait(60), "the first run never reached the stall"
        stale = runs()[-1]
        # ClassLink moves on, and the first run's lease runs out while it is stalled.
        _rename(synced, student, "Fresh")
        district = District.get(TENANT)
        assert district.sync_lease_run_id == stale.run_id
        district.update(actions=[District.sync_lease_expires_at.set(utcnow() - timedelta(seconds=1))])
        send(stack, request(kind="manual", trigger="operator:takes-over"))
        stack.sqs_sources[0].poll()  # a second worker runs the new run while the first is stalled
        newer = next(r for r in runs() if r.trigger == "operator:takes-over")
        assert newer.state == "succeeded", newer.error
        assert RosterUser.get(TENANT, student).family_name == "Fresh"
        stall.go.set()
        first_worker.join(120)
    stale = next(r for r in runs() if r.run_id == stale.run_id)
    assert (stale.state, stale.error) == ("failed", LEASE_LOST)
    assert RosterUser.get(TENANT, student).family_name == "Fresh"  # the late write was refused
    district = District.get(TENANT)
    assert district.state == DistrictState.ACTIVE.value and district.last_run.run_id == newer.run_id
    assert int(district.sync_lease_fence) == 3  # the initial sync's, the stale run's, the newer run's
    checks = assert_invariants(synced)
    record(
        record_property, FAMILY, where, "newer run completed; the late run fenced and failed cleanly", checks
    )
