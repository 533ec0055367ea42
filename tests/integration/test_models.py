"""PynamoDB models against moto server, on tables created from template.yaml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pynamodb.exceptions import PutError, UpdateError

from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.login import LoginCode, LoginState
from smartpass.data.roster import RosterOrg, RosterUser
from smartpass.data.sync_runs import SyncKind, SyncRun, make_run_id
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    bind_tables(get_settings())


def test_district_round_trip_with_defaults_and_optimistic_locking() -> None:
    District(tenant_id="2001", name="Maple", oneroster_application_id="a%2Fb%3D").save()
    loaded = District.get("2001")
    assert loaded.state == DistrictState.CONNECTING.value
    settings = loaded.sync_settings
    assert (settings.deactivation_threshold_percent, settings.deactivation_threshold_minimum) == (10, 50)
    assert settings.collections == ["terms", "orgs", "users", "classes", "enrollments"]
    assert loaded.oneroster_application_id == "a%2Fb%3D"
    stale = District.get("2001")
    loaded.state = DistrictState.ACTIVE.value
    loaded.save()
    stale.state = DistrictState.PAUSED.value
    with pytest.raises(PutError):
        stale.save()  # a concurrent writer lost: nothing silently overwritten
    assert District.get("2001").state == DistrictState.ACTIVE.value


def test_roster_user_keys_and_lookup_by_classlink_user_id() -> None:
    RosterUser(
        tenant_id="2001",
        sourced_id="5678_T5678-0005",
        role="teacher",
        app_role="teacher",
        given_name="A",
        family_name="B",
        content_hash="h1",
        classlink_user_id="8708718",
    ).save()
    RosterUser(
        tenant_id="2001",
        sourced_id="S-1",
        role="student",
        app_role="student",
        given_name="C",
        family_name="D",
        content_hash="h2",
    ).save()
    RosterUser(
        tenant_id="2002",
        sourced_id="S-1",
        role="student",
        app_role="student",
        given_name="E",
        family_name="F",
        content_hash="h3",
    ).save()
    assert RosterUser.get("2001", "5678_T5678-0005").role == "teacher"
    assert [u.sourced_id for u in RosterUser.query("2001")] == ["5678_T5678-0005", "S-1"]
    found = list(RosterUser.by_classlink_user_id.query("2001", RosterUser.classlink_user_id == "8708718"))
    assert [u.sourced_id for u in found] == ["5678_T5678-0005"]
    assert RosterUser.get("2002", "S-1").given_name == "E"  # same sourcedId, other district


def test_roster_org_round_trip() -> None:
    RosterOrg(
        tenant_id="2001",
        sourced_id="200101",
        name="North High",
        org_type="school",
        parent_sourced_id="2001",
        content_hash="x",
    ).save()
    org = RosterOrg.get("2001", "200101")
    assert (org.name, org.org_type, org.active) == ("North High", "school", True)


def test_sync_runs_sort_by_time_newest_first() -> None:
    start = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    for hours in (0, 24, 48):
        run_id = make_run_id(start + timedelta(hours=hours), SyncKind.NIGHTLY, f"s{hours}")
        SyncRun(tenant_id="2001", run_id=run_id, kind="nightly", trigger=f"t{hours}").save()
    newest = next(SyncRun.query("2001", scan_index_forward=False, limit=1))
    assert newest.run_id.startswith("2026-12-01T02:00:00")
    assert newest.counts.as_dict() == {} and newest.state == "queued"


def test_login_state_is_consumed_once_and_carries_expiry() -> None:
    state = LoginState(
        state="s1", nonce="n", code_verifier="v", expires_at=datetime.now(UTC) + timedelta(minutes=10)
    )
    state.save()
    condition = LoginState.consumed == False  # noqa: E712 (PynamoDB expression)
    LoginState.get("s1").update(actions=[LoginState.consumed.set(True)], condition=condition)
    with pytest.raises(UpdateError):
        LoginState.get("s1").update(actions=[LoginState.consumed.set(True)], condition=condition)
    assert LoginState.get("s1").expires_at > datetime.now(UTC)


def test_login_code_round_trip() -> None:
    LoginCode(
        code_hash="abc",
        tenant_id="2001",
        sourced_id="S-1",
        expires_at=datetime.now(UTC) + timedelta(minutes=1),
    ).save()
    assert LoginCode.get("abc").sourced_id == "S-1"
