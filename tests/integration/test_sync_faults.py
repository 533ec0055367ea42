"""Every sandbox fault kind, credentials that rotate or are revoked, invalid records, leases and
checkpointed continuation: the outcome is right, or the run failed cleanly and no record
changed wrongly."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.stores import dynamo_stores
from smartpass.data.sync_runs import SyncRun
from smartpass.operations.district_admin import pause_district
from smartpass.sync.lease import acquire_lease
from tests.integration.sync_helpers import (
    TENANT,
    connect_district,
    count_writes,
    put_secret,
    request,
    send,
    sync,
)
from tests.integration.test_sync import ROSTER_TABLES, _active_users, _counts, _runs, _shared_users, synced

__all__ = ["synced"]  # the fixture, shared with test_sync


def _user_snapshot() -> dict[str, Any]:
    return {u.sourced_id: u.serialize() for u in RosterUser.query(TENANT)}


def _nightly(stack: LocalStack, trigger: str) -> SyncRun:
    sync(stack, kind="nightly", trigger=trigger)
    return _runs()[-1]


def _small_pages(page_size: int = 50) -> None:
    district = District.get(TENANT)
    district.sync_settings.page_size = page_size
    district.save()


# ------------------------------------------------------------------ transient faults are absorbed
@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("http_429", {"retry_after": 1}),
        ("http_429", {}),
        ("http_500", {}),
        ("http_502", {}),
        ("http_503", {}),
        ("slow", {"delay_seconds": 0.5}),
        ("drop", {}),
        ("truncated_json", {}),
        ("no_envelope", {}),
        ("perm_rev_change", {}),
        ("count_mismatch", {"delta": 5}),
        ("duplicate_rows", {"rows": 7}),
        ("missing_rows", {"rows": 7}),
    ],
)
def test_a_transient_fault_leaves_the_right_roster_and_writes_nothing(
    stack: LocalStack, synced: SandboxServer, kind: str, params: dict[str, Any]
) -> None:
    _small_pages()
    before = _user_snapshot()
    synced.app.faults.add(
        Fault(kind=kind, tenant_id=int(TENANT), collection="users", times=1, after=1, params=params)
    )
    with count_writes([stack.environment[t] for t in ROSTER_TABLES]) as writes:
        run = _nightly(stack, f"schedule:{kind}")
    assert run.state == "succeeded", run.error
    assert sum(writes.values()) == 0
    assert _user_snapshot() == before
    if kind in ("perm_rev_change", "count_mismatch", "duplicate_rows", "missing_rows"):
        assert _counts(run, "users")["restarts"] == 1  # the pull did not add up, so it was redone
    elif kind != "slow":
        assert int(run.retries) >= 1


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("http_500", "answered 500"),
        ("drop", "unreachable"),
        ("no_envelope", "no 'users' array"),
        ("perm_rev_change", "did not add up"),
        ("missing_rows", "did not add up"),
    ],
)
def test_a_lasting_fault_fails_the_run_cleanly(
    stack: LocalStack, synced: SandboxServer, kind: str, reason: str
) -> None:
    _small_pages()
    tenant = synced.world.tenants[int(TENANT)]
    gone = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")[0]
    apply_change(tenant, {"op": "purge", "sourcedIds": [gone]})
    before = _user_snapshot()
    failed_deliveries = stack.sqs_sources[0].failed
    synced.app.faults.add(
        Fault(kind=kind, tenant_id=int(TENANT), collection="users", after=1, params={"rows": 3})
    )
    run = _nightly(stack, f"schedule:lasting-{kind}")
    assert run.state == "failed"
    assert reason in (run.error or "")
    assert _user_snapshot() == before  # the purged student is not deactivated by a failed pull
    district = District.get(TENANT)
    assert district.state == DistrictState.ERROR.value and reason in (district.state_reason or "")
    assert district.sync_lease_run_id is None
    assert stack.sqs_sources[0].failed == failed_deliveries  # a clean failure, not a poison message


# ------------------------------------------------------------------ credentials
def test_a_rotated_bearer_is_picked_up_from_the_secret(stack: LocalStack, synced: SandboxServer) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    new_bearer = apply_change(tenant, {"op": "rotate_bearer"})["bearer"]
    secret_id = stack.environment["DISTRICT_SECRET_PREFIX"] + TENANT
    # Onboarding writes the new bearer to the secret; the worker still has the old one cached.
    stack.client("secretsmanager").put_secret_value(
        SecretId=secret_id,
        SecretString=json.dumps(
            {
                "mode": "proxy",
                "bearer": new_bearer,
                "oneroster_application_id": tenant.oneroster_application_id,
            }
        ),
    )
    run = _nightly(stack, "schedule:rotated")
    assert run.state == "succeeded", run.error
    client = _counts(run, "client")
    assert client["credential_refreshes"] == 1  # a 401, the secret read again, the page retried


def test_revoked_credentials_fail_the_run_and_say_so(stack: LocalStack, synced: SandboxServer) -> None:
    apply_change(synced.world.tenants[int(TENANT)], {"op": "disable_sharing"})
    before = _user_snapshot()
    run = _nightly(stack, "schedule:revoked")
    assert run.state == "failed" and "refused our credentials" in (run.error or "")
    assert _user_snapshot() == before
    assert "refused our credentials" in (District.get(TENANT).state_reason or "")


# ------------------------------------------------------------------ invalid records
def test_invalid_records_are_counted_reported_and_never_written(
    stack: LocalStack, synced: SandboxServer
) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    students = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")
    broken = students[3]
    apply_change(tenant, {"op": "edit_user", "sourcedId": broken, "fields": {"givenName": None, "role": ""}})
    added = apply_change(tenant, {"op": "add_users", "count": 1, "role": "student"})["added"][0]
    apply_change(tenant, {"op": "edit_user", "sourcedId": added, "fields": {"orgs": "not a list"}})
    before = RosterUser.get(TENANT, broken).serialize()
    run = _nightly(stack, "schedule:invalid")
    assert run.state == "succeeded"
    assert _counts(run, "users")["invalid"] == 2
    assert any(line.startswith(f"users {broken}:") for line in run.invalid_records)
    assert any(line.startswith(f"users {added}:") for line in run.invalid_records)
    assert RosterUser.get(TENANT, broken).serialize() == before  # kept as it was, still active
    with pytest.raises(RosterUser.DoesNotExist):
        RosterUser.get(TENANT, added)


# ------------------------------------------------------------------ leases
def test_a_request_for_a_busy_district_waits_instead_of_failing(
    stack: LocalStack, synced: SandboxServer
) -> None:
    assert acquire_lease(dynamo_stores(), District.get(TENANT), "another-run", 600)
    sqs = stack.client("sqs")
    send(stack, request(kind="manual", trigger="while-busy"))
    failed_deliveries = stack.sqs_sources[0].failed
    stack.drain()
    run = next(r for r in _runs() if r.trigger == "while-busy")
    assert run.state == "queued"
    assert stack.sqs_sources[0].failed == failed_deliveries
    attrs = sqs.get_queue_attributes(
        QueueUrl=stack.environment["SYNC_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"  # sent again, to run after the other


# ------------------------------------------------------------------ checkpoint and continuation
def test_a_run_that_nears_its_time_limit_continues_in_new_messages(
    stack: LocalStack, synced: SandboxServer
) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    students = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")
    apply_change(tenant, {"op": "purge", "sourcedIds": [students[10]]})
    apply_change(tenant, {"op": "edit_user", "sourcedId": students[11], "fields": {"familyName": "李"}})
    _small_pages(20)
    synced.app.faults.add(
        Fault(kind="slow", tenant_id=int(TENANT), collection="users", params={"delay_seconds": 0.3})
    )
    worker = stack.functions["NightlySyncWorkerFunction"]
    saved = worker.timeout_seconds
    worker.timeout_seconds = 3
    try:
        with count_writes([stack.environment["ROSTER_USERS_TABLE"]]) as writes:
            run = _nightly(stack, "schedule:long")
    finally:
        worker.timeout_seconds = saved
    assert run.state == "succeeded", run.error
    assert int(run.pieces) >= 3
    users = {u.sourced_id: u for u in RosterUser.query(TENANT)}
    assert not users[students[10]].active and users[students[10]].deactivation_reason == "absent"
    assert users[students[11]].family_name == "李"
    # Judged over the whole pull, not the last piece: exactly one deactivated, one updated.
    assert writes[stack.environment["ROSTER_USERS_TABLE"]] == 2
    assert len(_active_users()) == len(_shared_users(synced))
    assert District.get(TENANT).sync_lease_run_id is None


def test_both_connection_modes_sync_the_same_roster(stack: LocalStack, stack_sandbox: SandboxServer) -> None:
    connect_district(stack, stack_sandbox, mode="oauth1")
    sync(stack, kind="initial", trigger="oauth1")
    run = _runs()[-1]
    assert run.state == "succeeded", run.error
    assert set(_active_users()) == set(_shared_users(stack_sandbox))
    put_secret(stack, stack.environment["DISTRICT_SECRET_PREFIX"] + TENANT, {"mode": "oauth1"})
    sync(stack, kind="manual", trigger="broken-secret")
    broken = _runs()[-1]
    assert broken.state == "failed"
    assert broken.error == "oauth1 connection secret lacks client_id, client_secret, endpoint_url"


def test_one_districts_failure_never_touches_another(stack: LocalStack, synced: SandboxServer) -> None:
    from classlink_sandbox.generator import DistrictSpec, generate

    world = synced.world
    other = world.tenants.get(2002) or world.add_tenant(
        generate(DistrictSpec(tenant_id=2002, name="Birch County", students=30, teachers=3))
    )
    apply_change(other, {"op": "add_app"})
    try:
        connect_district(stack, synced, "2002", state=DistrictState.ACTIVE.value)
        synced.app.faults.add(Fault(kind="http_503", tenant_id=int(TENANT), collection="users"))
        send(stack, request(kind="nightly", trigger="schedule:both"))
        send(stack, request(kind="nightly", trigger="schedule:both", tenant="2002"))
        stack.drain(timeout_seconds=120)
    finally:
        apply_change(other, {"op": "remove_app"})  # other tests expect one listed district
    assert _runs()[-1].state == "failed"
    [birch] = list(SyncRun.query("2002"))
    assert birch.state == "succeeded", birch.error
    assert District.get("2002").state == DistrictState.ACTIVE.value
    assert sum(1 for u in RosterUser.query("2002") if u.active) == sum(
        1 for u in synced.app.engine.visible(other, "users") if u["role"] != "guardian"
    )


def test_a_piece_whose_continuation_was_not_sent_is_resent_on_redelivery(
    stack: LocalStack, synced: SandboxServer
) -> None:
    from smartpass.settings import get_settings
    from smartpass.sync.handle_request import handle_request
    from smartpass.sync.requests import SyncRequest
    from smartpass.sync.services import SyncServices
    from smartpass_aws.sync_services import build_services

    _small_pages(20)
    calls = itertools.count()

    def time_left() -> float:  # plenty for a few pages, then the end of the invocation
        return 60.0 if next(calls) < 12 else 1.0

    sent: list[SyncRequest] = []

    def send_fails_once(request: SyncRequest, delay: int) -> None:
        if not sent:
            sent.append(request)
            raise RuntimeError("SQS is unavailable")
        sent.append(request)

    services = SyncServices(
        stores=dynamo_stores(),
        connect=build_services(get_settings(), time_left).connect,
        send=send_fails_once,
        notify=lambda report: None,
    )
    message = SyncRequest.model_validate(request(kind="manual", trigger="crash"))
    with pytest.raises(RuntimeError, match="unavailable"):
        handle_request(message, services, time_left)
    run = SyncRun.get(TENANT, message.resolved_run_id())
    assert (run.state, int(run.pieces)) == ("running", 1) and run.checkpoint is not None
    outcome = handle_request(message, services, time_left)  # SQS delivers the message again
    assert outcome.state == "duplicate" and outcome.notes == ["sent piece 1 again"]
    assert [(r.run_id, r.piece) for r in sent[1:]] == [(run.run_id, 1)]


def test_two_runs_of_one_district_delivered_together_never_sync_at_once(
    stack: LocalStack, synced: SandboxServer
) -> None:
    # Slow pages keep the first run busy while the worker's concurrency delivers the second.
    synced.app.faults.add(
        Fault(kind="slow", tenant_id=int(TENANT), collection="users", times=1, params={"delay_seconds": 3.0})
    )
    send(stack, request(kind="manual", trigger="operator"))
    send(stack, request(kind="nightly", trigger="schedule:same-night"))
    stack.drain(timeout_seconds=60)
    runs = {r.trigger: r for r in _runs() if r.trigger in ("operator", "schedule:same-night")}
    states = sorted(r.state for r in runs.values())
    assert states == ["queued", "succeeded"]  # one ran; the other waits for the lease, not a failure
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.environment["SYNC_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    assert District.get(TENANT).sync_lease_run_id is None


def test_a_pause_during_a_long_run_stops_it_before_anything_is_deactivated(
    stack: LocalStack, synced: SandboxServer
) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    students = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")
    apply_change(tenant, {"op": "purge", "sourcedIds": [students[10]]})
    _small_pages(20)
    synced.app.faults.add(
        Fault(kind="slow", tenant_id=int(TENANT), collection="users", params={"delay_seconds": 0.3})
    )
    paused = threading.Event()

    def pause_after_the_first_piece() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(int(r.pieces or 0) >= 1 for r in _runs() if r.trigger == "schedule:paused"):
                pause_district(dynamo_stores(), TENANT, "alice", "a district asked us to stop")
                paused.set()
                return
            time.sleep(0.05)

    worker = stack.functions["NightlySyncWorkerFunction"]
    saved = worker.timeout_seconds
    worker.timeout_seconds = 3
    watcher = threading.Thread(target=pause_after_the_first_piece)
    watcher.start()
    try:
        run = _nightly(stack, "schedule:paused")
    finally:
        worker.timeout_seconds = saved
        watcher.join()
    assert paused.is_set()
    run = SyncRun.get(TENANT, run.run_id)
    assert (run.state, run.error) == (
        "skipped",
        "the district was paused during the run; nothing was deactivated",
    )
    assert RosterUser.get(TENANT, students[10]).active  # absent, but never deactivated
    district = District.get(TENANT)
    assert district.state == DistrictState.PAUSED.value and district.sync_lease_run_id is None
