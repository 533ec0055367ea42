"""Roster sync end to end: SQS -> the real worker -> the sandbox over HTTP -> moto server.

Writes are counted where botocore sends them (sync_helpers.count_writes), not by the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterClass, RosterEnrollment, RosterOrg, RosterTerm, RosterUser
from smartpass.data.sync_runs import SyncRun
from tests.integration.sync_helpers import TENANT, connect_district, count_writes, request, send, sync

ROSTER_TABLES = (
    "ROSTER_USERS_TABLE",
    "ROSTER_ORGS_TABLE",
    "ROSTER_CLASSES_TABLE",
    "ROSTER_ENROLLMENTS_TABLE",
    "ROSTER_TERMS_TABLE",
)


def _tables(stack: LocalStack) -> list[str]:
    return [stack.environment[name] for name in ROSTER_TABLES]


def _runs() -> list[SyncRun]:
    return sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)


def _counts(run: SyncRun, collection: str = "total") -> dict[str, Any]:
    return dict(run.counts.as_dict()[collection])


def _shared_users(sandbox: SandboxServer) -> dict[str, dict[str, Any]]:
    """What ClassLink shares with us: users visible to the app, guardians excluded."""
    tenant = sandbox.world.tenants[int(TENANT)]
    visible = sandbox.app.engine.visible(tenant, "users")
    return {u["sourcedId"]: u for u in visible if u["role"] != "guardian"}


def _active_users() -> dict[str, RosterUser]:
    return {u.sourced_id: u for u in RosterUser.query(TENANT) if u.active}


@pytest.fixture
def synced(stack: LocalStack, stack_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The sandbox district after its initial sync, with its roster restored afterwards."""
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    # Changes replace top-level fields of a record, so copying each record is enough.
    snapshot = {name: {k: dict(v) for k, v in rows.items()} for name, rows in tenant.data.items()}
    saved = (tenant.bearer, tenant.enabled, tenant.listed, tenant.share_unenrolled)
    connect_district(stack, stack_sandbox)
    sync(stack, kind="initial", trigger="invitation")
    yield stack_sandbox
    tenant.data = snapshot
    tenant.bearer, tenant.enabled, tenant.listed, tenant.share_unenrolled = saved
    tenant.touch()


# ------------------------------------------------------------------ initial sync
def test_initial_sync_stores_exactly_the_shared_roster(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    connect_district(stack, stack_sandbox)
    with count_writes(_tables(stack)) as writes:
        sync(stack, kind="initial", trigger="invitation")
    [run] = _runs()
    assert run.state == "succeeded", run.error
    shared = _shared_users(stack_sandbox)
    stored = _active_users()
    assert set(stored) == set(shared)
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    some = next(iter(shared.values()))
    user = stored[some["sourcedId"]]
    assert (user.given_name, user.family_name, user.role) == (
        some["givenName"],
        some["familyName"],
        some["role"],
    )
    assert user.org_sourced_ids == [o["sourcedId"] for o in some["orgs"]]
    # Only what we store: no password, phone, guardians or identifiers from ClassLink's payload.
    attributes = set(user.attribute_values)
    assert not attributes & {"password", "phone", "sms", "agents", "identifier", "userIds"}
    assert {o.sourced_id for o in RosterOrg.query(TENANT)} == set(tenant.data["orgs"])
    assert {c.sourced_id for c in RosterClass.query(TENANT)} == set(tenant.data["classes"])
    assert {e.sourced_id for e in RosterEnrollment.query(TENANT)} == set(tenant.data["enrollments"])
    assert {t.sourced_id for t in RosterTerm.query(TENANT)} == set(tenant.data["academicSessions"])
    total = _counts(run)
    expected = len(shared) + sum(
        len(tenant.data[c]) for c in ("orgs", "classes", "enrollments", "academicSessions")
    )
    assert total["created"] == expected
    assert sum(writes.values()) == expected  # one write per record, counted at the SDK
    # a clean pull: one request per page, no retries
    assert (run.requests, run.retries) == (5, 0)
    district = District.get(TENANT)
    assert district.state == DistrictState.ACTIVE.value
    assert district.last_run.state == "succeeded" and district.sync_lease_run_id is None


def test_unchanged_night_writes_nothing(stack: LocalStack, synced: SandboxServer) -> None:
    with count_writes(_tables(stack)) as writes:
        sync(stack, kind="nightly", trigger="schedule:1")
    run = _runs()[-1]
    assert run.state == "succeeded"
    assert sum(writes.values()) == 0
    total = _counts(run)
    assert total["created"] == total["updated"] == total["deactivated"] == 0
    assert total["unchanged"] + total["ignored"] == total["fetched"] > 0  # guardians are ignored


def test_nightly_after_changes_writes_exactly_the_changes(stack: LocalStack, synced: SandboxServer) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    students = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")
    edited, doomed, purged = students[0], students[1], students[2]
    added = apply_change(tenant, {"op": "add_users", "count": 2, "role": "student"})["added"]
    apply_change(tenant, {"op": "edit_user", "sourcedId": edited, "fields": {"familyName": "O'Brien-García"}})
    apply_change(tenant, {"op": "mark_tobedeleted", "sourcedIds": [doomed]})
    enrollments_of_purged = [
        k for k, e in tenant.data["enrollments"].items() if e["user"]["sourcedId"] == purged
    ]
    apply_change(tenant, {"op": "purge", "sourcedIds": [purged]})
    with count_writes(_tables(stack)) as writes:
        sync(stack, kind="nightly", trigger="schedule:2")
    run = _runs()[-1]
    assert run.state == "succeeded", run.error
    users = {u.sourced_id: u for u in RosterUser.query(TENANT)}
    assert users[edited].family_name == "O'Brien-García" and users[edited].active
    assert (users[doomed].active, users[doomed].deactivation_reason) == (False, "tobedeleted")
    assert (users[purged].active, users[purged].deactivation_reason) == (False, "absent")
    assert all(users[a].active for a in added)
    user_counts = _counts(run, "users")
    assert (user_counts["created"], user_counts["updated"], user_counts["deactivated"]) == (2, 1, 2)
    enrollment_counts = _counts(run, "enrollments")
    # add_users enrols each new user once; the purge took the purged student's enrollments
    assert enrollment_counts["created"] == 2
    assert enrollment_counts["deactivated"] == len(enrollments_of_purged)
    changes = 2 + 1 + 2 + 2 + len(enrollments_of_purged)
    assert sum(writes.values()) == changes
    assert writes[stack.environment["ROSTER_USERS_TABLE"]] == 5


def test_a_returning_user_is_reactivated(stack: LocalStack, synced: SandboxServer) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    student = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")[5]
    record = dict(tenant.users()[student])
    apply_change(tenant, {"op": "mark_tobedeleted", "sourcedIds": [student]})
    sync(stack, kind="nightly", trigger="schedule:a")
    assert not RosterUser.get(TENANT, student).active
    tenant.users()[student] = {**record, "status": "active"}
    tenant.touch()
    sync(stack, kind="nightly", trigger="schedule:b")
    user = RosterUser.get(TENANT, student)
    assert user.active and user.deactivated_at is None
    assert _counts(_runs()[-1], "users")["reactivated"] == 1


def test_sso_fields_survive_an_update(stack: LocalStack, synced: SandboxServer) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    student = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")[7]
    user = RosterUser.get(TENANT, student)
    user.update(actions=[RosterUser.classlink_user_id.set("8708718")])
    apply_change(tenant, {"op": "edit_user", "sourcedId": student, "fields": {"givenName": "Zoë"}})
    sync(stack, kind="nightly", trigger="schedule:c")
    user = RosterUser.get(TENANT, student)
    assert (user.given_name, user.classlink_user_id) == ("Zoë", "8708718")


# ------------------------------------------------------------------ safety hold
def test_a_mass_removal_is_held_and_approval_applies_it(stack: LocalStack, synced: SandboxServer) -> None:
    from smartpass.data.stores import dynamo_stores
    from smartpass.sync.holds import approve_hold, review_hold

    tenant = synced.world.tenants[int(TENANT)]
    students = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")
    gone = students[:60]  # over max(10% of ~140, 50)
    apply_change(tenant, {"op": "purge", "sourcedIds": gone})
    with count_writes([stack.environment["ROSTER_USERS_TABLE"]]) as writes:
        sync(stack, kind="nightly", trigger="schedule:hold")
    run = _runs()[-1]
    assert run.state == "held"
    assert writes[stack.environment["ROSTER_USERS_TABLE"]] == 0
    assert all(RosterUser.get(TENANT, sid).active for sid in gone)
    assert District.get(TENANT).state == DistrictState.HELD.value
    assert any("would be deactivated" in f for f in run.findings)
    review = review_hold(dynamo_stores(), TENANT, run.run_id)
    assert review.by_collection["users"]["absent"] == 60
    # One of them changes before the operator decides: that one no longer holds.
    changed = RosterUser.get(TENANT, gone[0])
    changed.update(actions=[RosterUser.content_hash.set("0000000000000000")])
    result = approve_hold(dynamo_stores(), TENANT, run.run_id, operator="ops@smartpass")
    assert (result["applied"], result["no_longer_applicable"]) == (review.total - 1, 1)
    assert RosterUser.get(TENANT, gone[0]).active
    assert not any(RosterUser.get(TENANT, sid).active for sid in gone[1:])
    assert SyncRun.get(TENANT, run.run_id).state == "approved"
    assert District.get(TENANT).state == DistrictState.ACTIVE.value


def test_an_empty_pull_is_always_held(stack: LocalStack, synced: SandboxServer) -> None:
    synced.app.faults.add(Fault(kind="empty", tenant_id=int(TENANT), collection="users", times=1))
    sync(stack, kind="nightly", trigger="schedule:empty")
    run = _runs()[-1]
    assert run.state == "held"
    assert any("sent no users" in f for f in run.findings)
    assert len(_active_users()) == len(_shared_users(synced))


# ------------------------------------------------------------------ duplicates and concurrency
def test_duplicate_messages_run_once(stack: LocalStack, synced: SandboxServer) -> None:
    body = request(kind="manual", trigger="dup", requested_at="2026-11-29T02:00:00+00:00")
    send(stack, body)
    send(stack, body)
    stack.drain(timeout_seconds=60)
    runs = [r for r in _runs() if r.trigger == "dup"]
    assert len(runs) == 1 and runs[0].state == "succeeded"
    assert int(runs[0].pieces) == 1
