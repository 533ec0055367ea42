"""Fault survival: the district changes under a running sync (paused, its app removed from
ClassLink), ClassLink timing out for one district all night, and a bearer rotated in ClassLink
before the poll has stored it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault
from classlink_sandbox.generator import DistrictSpec, generate
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.classlink.oneroster import OneRosterClient
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.stores import dynamo_stores
from smartpass.operations.district_admin import pause_district
from smartpass.sync.piece import PAUSED_DURING_THE_RUN
from tests.integration.fault_helpers import assert_invariants, in_background, record, runs, shared, stalls
from tests.integration.sync_helpers import TENANT, connect_district, request, send, sync
from tests.integration.test_sync import synced

__all__ = ["synced"]


def _users_page(_client: Any, endpoint: str, *args: Any, **kwargs: Any) -> bool:
    return endpoint.endswith("users")


def _purge_a_student(sandbox: SandboxServer) -> str:
    gone = sorted(sid for sid, u in shared(sandbox, "users").items() if u["role"] == "student")[0]
    apply_change(sandbox.world.tenants[int(TENANT)], {"op": "purge", "sourcedIds": [gone]})
    return gone


def _page_size(size: int) -> None:
    district = District.get(TENANT)
    district.sync_settings.page_size = size
    district.save()


def test_a_pause_during_the_last_piece_deactivates_nothing_and_sends_no_report(
    stack: LocalStack, synced: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    gone = _purge_a_student(synced)
    with stalls(OneRosterClient, "page", after=True, when=_users_page) as stall:
        send(stack, request(kind="manual", trigger="operator:paused"))
        worker = in_background(lambda: stack.drain(timeout_seconds=120))
        assert stall.entered.wait(60)
        pause_district(dynamo_stores(), TENANT, "alice", "the district asked us to stop")
        stall.go.set()
        worker.join(120)
    run = runs()[-1]
    assert (run.state, run.error) == ("skipped", PAUSED_DURING_THE_RUN)
    assert RosterUser.get(TENANT, gone).active  # absent, but never deactivated
    reports = [e for e in DistrictEvent.query(TENANT) if e.kind == "report_sent" and run.run_id in e.actor]
    assert reports == [] and run.reported_at is None
    district = District.get(TENANT)
    assert district.state == DistrictState.PAUSED.value and district.sync_lease_run_id is None
    checks = {
        "nothing_lost": all(RosterUser.get(TENANT, sid).active for sid in shared(synced, "users")),
        "nothing_wrongly_deactivated": not [u for u in RosterUser.query(TENANT) if not u.active],
        "none_stuck_in_syncing": not [r for r in runs() if r.state == "running"],
    }
    assert all(checks.values()), checks
    outcome = "stopped (skipped): nothing deactivated, no report"
    record(record_property, "district changes mid-run", "paused during the last piece", outcome, checks)


def test_an_app_removed_mid_run_fails_the_run_cleanly(
    stack: LocalStack, synced: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    gone = _purge_a_student(synced)
    _page_size(40)
    with stalls(OneRosterClient, "page", after=True, when=_users_page) as stall:
        send(stack, request(kind="nightly", trigger="schedule:removed"))
        worker = in_background(lambda: stack.drain(timeout_seconds=120))
        assert stall.entered.wait(60)
        apply_change(tenant, {"op": "remove_app"})
        try:
            stall.go.set()
            worker.join(120)
            run = runs()[-1]
            assert run.state == "failed" and "refused our credentials" in (run.error or "")
            assert RosterUser.get(TENANT, gone).active  # a failed pull deactivates nobody
        finally:
            apply_change(tenant, {"op": "add_app"})
    # The error says why; onboarding's poll pauses a district its Partner API list no longer has.
    district = District.get(TENANT)
    assert district.state == DistrictState.ERROR.value and district.sync_lease_run_id is None
    checks = {
        "nothing_lost": all(RosterUser.get(TENANT, sid).active for sid in shared(synced, "users")),
        "nothing_wrongly_deactivated": not [u for u in RosterUser.query(TENANT) if not u.active],
        "none_stuck_in_syncing": not [r for r in runs() if r.state == "running"],
    }
    assert all(checks.values()), checks
    outcome = "failed cleanly (401, no longer listed): nothing deactivated"
    record(record_property, "district changes mid-run", "app removed from ClassLink", outcome, checks)


def test_classlink_timing_out_for_one_district_all_night_fails_it_cleanly_and_the_next_night_completes(
    stack: LocalStack, synced: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    world = synced.world
    other = world.tenants.get(2002) or world.add_tenant(
        generate(DistrictSpec(tenant_id=2002, name="Birch County", students=30, teachers=3))
    )
    apply_change(other, {"op": "add_app"})
    worker = stack.functions["NightlySyncWorkerFunction"]
    try:
        connect_district(stack, synced, "2002", state=DistrictState.ACTIVE.value)
        worker.timeout_seconds = 6  # a page slower than the whole invocation
        synced.app.faults.add(Fault(kind="slow", tenant_id=int(TENANT), params={"delay_seconds": 9}))
        send(stack, request(kind="nightly", trigger="schedule:night-1"))
        send(stack, request(kind="nightly", trigger="schedule:night-1", tenant="2002"))
        stack.drain(timeout_seconds=120)
        birch = list(runs("2002"))
        assert [r.state for r in birch] == ["succeeded"]
    finally:
        worker.timeout_seconds = worker.template_timeout_seconds
        apply_change(other, {"op": "remove_app"})  # other tests expect one listed district
    night_1 = runs()[-1]
    assert night_1.state == "failed" and "too short to fetch one page" in (night_1.error or "")
    assert District.get(TENANT).state == DistrictState.ERROR.value
    checks_1 = assert_invariants(synced)
    synced.app.faults.clear()  # ClassLink answers again the next night
    sync(stack, kind="nightly", trigger="schedule:night-2")
    assert runs()[-1].state == "succeeded"
    checks = assert_invariants(synced)
    assert checks_1 == checks
    outcome = "failed cleanly (the other district completed); the next night completed"
    record(record_property, "ClassLink", "timing out for one district all night", outcome, checks)


def test_a_bearer_rotated_in_classlink_before_the_poll_stored_it_is_fetched_and_the_run_completes(
    stack: LocalStack, synced: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    apply_change(synced.world.tenants[int(TENANT)], {"op": "rotate_bearer"})  # the secret keeps the old one
    _page_size(40)
    sync(stack, kind="nightly", trigger="schedule:rotated-unstored")
    run = runs()[-1]
    assert run.state == "succeeded", run.error
    assert run.counts.as_dict()["client"]["credential_refreshes"] == 1  # 401, /applications, retried
    checks = assert_invariants(synced)
    record(record_property, "ClassLink", "bearer rotated, secret not yet updated", "completed", checks)
