"""The operators' read-only views on in-memory repositories (tests/fakes): the sign-in check's
verdicts (smartpass.operations.signin_check: the sign-in's own rules, said in an admin's words,
with the person found by sourcedId, e-mail, username, ClassLink UserId or name) and the list of
held runs (smartpass.operations.held_runs). The ops tier runs the same through the CLI against
the local stack (tests/ops)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smartpass.data.districts import District, RunSummary
from smartpass.data.roster import RosterOrg
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncKind, SyncRun, make_run_id
from smartpass.operations.held_runs import list_held_runs
from smartpass.operations.signin_check import School, check_sign_in
from tests.fakes.stores import FakeDistricts, FakeRoster, fake_stores, rostered_user

TENANT = "6060"
NIGHT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _run_id(night: int, kind: SyncKind = SyncKind.NIGHTLY, tenant: str = TENANT) -> str:
    return make_run_id(NIGHT + timedelta(days=night), kind, tenant)


def _district(stores: Stores, tenant_id: str = TENANT, **fields: Any) -> None:
    districts = stores.districts
    assert isinstance(districts, FakeDistricts)
    synced: dict[str, Any] = {"name": f"District {tenant_id}", "state": "active", "first_synced_at": NIGHT}
    districts.put(District(tenant_id=tenant_id, **{**synced, **fields}))


def _user(stores: Stores, sourced_id: str, **fields: Any) -> None:
    rostered_user(stores, TENANT, sourced_id, **{"last_run_id": _run_id(0, SyncKind.INITIAL), **fields})


def _school(stores: Stores, sourced_id: str, name: str) -> None:
    roster = stores.roster_reader
    assert isinstance(roster, FakeRoster)
    roster.table(RosterOrg, TENANT)[sourced_id] = {"name": name, "org_type": "school", "content_hash": "0b"}


def _run(stores: Stores, run_id: str, state: str, tenant_id: str = TENANT, **fields: Any) -> None:
    kind = run_id.split("#")[1]
    stamp = datetime.strptime(run_id.split("#")[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert stores.runs.add(
        SyncRun(
            tenant_id=tenant_id,
            run_id=run_id,
            kind=kind,
            trigger="test",
            state=state,
            started_at=stamp,
            finished_at=stamp + timedelta(minutes=5),
            **fields,
        )
    )


# ------------------------------------------------------------------ the sign-in check
def test_a_district_we_do_not_have_is_the_only_reason_given() -> None:
    result = check_sign_in(fake_stores(), TENANT, "s-1")
    assert not result.can_sign_in and [r.code for r in result.reasons] == ["district_not_connected"]
    assert result.district is None and result.person is None and TENANT in result.reasons[0].problem


def test_a_person_who_can_sign_in_is_shown_with_their_schools_and_the_last_sync_that_saw_them() -> None:
    stores = fake_stores()
    _district(stores)
    _school(stores, "school-1", "Juniper High")
    _user(stores, "s-1", org_sourced_ids=["school-1", "school-gone"], classlink_user_id="900001")
    _run(stores, _run_id(0, SyncKind.INITIAL), "succeeded")  # wrote the record
    _run(stores, _run_id(1), "succeeded")  # saw it unchanged
    _run(stores, _run_id(2), "held")  # deactivated nothing, proves nothing
    result = check_sign_in(stores, TENANT, " s-1 ")
    assert result.can_sign_in and result.reasons == () and result.matched_by == "sourcedId"
    assert result.who == "s-1"
    person = result.person
    assert person is not None and person.name == "Ada Quill" and person.classlink_user_id == "900001"
    assert person.schools == (School("school-1", "Juniper High"), School("school-gone", None))
    assert person.last_seen_by is not None and person.last_seen_by.run_id == _run_id(1)
    assert result.district is not None and result.district.name == f"District {TENANT}"


def test_the_last_sync_that_saw_a_person_is_never_older_than_the_one_that_wrote_them() -> None:
    stores = fake_stores()
    _district(stores)
    _run(stores, _run_id(0, SyncKind.INITIAL), "succeeded")
    _run(stores, _run_id(1), "succeeded")  # wrote the record
    _run(stores, _run_id(2), "failed")
    _user(stores, "s-1", last_run_id=_run_id(1))
    person = check_sign_in(stores, TENANT, "s-1").person
    assert person is not None and person.last_seen_by is not None
    assert person.last_seen_by.run_id == _run_id(1)


def test_no_run_is_named_when_the_one_that_wrote_the_record_is_gone() -> None:
    stores = fake_stores()
    _district(stores)
    _run(stores, _run_id(0, SyncKind.INITIAL), "succeeded")  # older than the record's writer
    _user(stores, "s-1", last_run_id=_run_id(1))  # its run item is no longer there
    person = check_sign_in(stores, TENANT, "s-1").person
    assert person is not None and person.last_seen_by is None


@pytest.mark.parametrize(
    ("who", "matched_by"),
    [
        ("ADA.QUILL@juniper.example", "e-mail"),
        ("aquill", "username"),
        ("900001", "ClassLink UserId"),
        ("quill,  ada", "name"),
    ],
)
def test_a_person_is_found_by_any_identifier_in_any_case(who: str, matched_by: str) -> None:
    stores = fake_stores()
    _district(stores)
    _user(stores, "s-1", email="ada.quill@juniper.example", username="AQuill", classlink_user_id="900001")
    _user(stores, "s-2", given_name="Bea", family_name="Stone")
    result = check_sign_in(stores, TENANT, who)
    assert result.matched_by == matched_by and result.person is not None
    assert result.person.sourced_id == "s-1" and result.can_sign_in


def test_an_identifier_beats_a_name() -> None:
    stores = fake_stores()
    _district(stores)
    _user(stores, "s-1", given_name="Casey", family_name="Jones")
    _user(stores, "s-2", username="casey")
    result = check_sign_in(stores, TENANT, "Casey")
    assert result.matched_by == "username" and result.person is not None and result.person.sourced_id == "s-2"


def test_several_people_are_candidates_and_no_verdict() -> None:
    stores = fake_stores()
    _district(stores)
    _user(stores, "s-1", given_name="Sam", family_name="Lee")
    _user(stores, "s-2", given_name="Sam", family_name="Park", app_role="teacher")
    result = check_sign_in(stores, TENANT, "sam")
    assert result.ambiguous and not result.can_sign_in and result.person is None
    assert result.matched_by == "part of a name"
    assert [(c.sourced_id, c.name, c.app_role) for c in result.candidates] == [
        ("s-1", "Sam Lee", "student"),
        ("s-2", "Sam Park", "teacher"),
    ]


def test_nobody_found_is_not_shared_in_the_operators_words() -> None:
    stores = fake_stores()
    _district(stores)
    _user(stores, "s-1")
    result = check_sign_in(stores, TENANT, "nobody@juniper.example")
    assert [r.code for r in result.reasons] == ["user_not_shared"] and result.person is None
    assert "nobody@juniper.example" in result.reasons[0].title


def test_a_deactivated_person_is_refused_with_the_run_that_deactivated_them() -> None:
    stores = fake_stores()
    _district(stores)
    _run(stores, _run_id(3), "succeeded")
    _user(
        stores,
        "s-1",
        active=False,
        deactivation_reason="absent",
        deactivated_at=NIGHT + timedelta(days=3),
        last_run_id=_run_id(3),
    )
    result = check_sign_in(stores, TENANT, "s-1")
    assert not result.can_sign_in and [r.code for r in result.reasons] == ["user_deactivated"]
    assert _run_id(3) in result.reasons[0].problem and "no longer shared" in result.reasons[0].problem
    assert result.person is not None and result.person.last_seen_by is None


def test_every_reason_is_shown_the_districts_first() -> None:
    stores = fake_stores()
    _district(stores, state="paused", paused_by="operator:alice", state_reason="contract review")
    _user(stores, "s-1", enabled_user=False, app_role="guardian", role="guardian")
    result = check_sign_in(stores, TENANT, "s-1")
    codes = [r.code for r in result.reasons]
    assert codes == ["district_paused", "user_disabled", "role_not_allowed"] and not result.can_sign_in
    assert "alice" in result.reasons[0].problem and f"districts resume {TENANT}" in result.reasons[0].fix
    assert "'guardian'" in result.reasons[2].problem


def test_a_district_not_synced_yet_says_how_its_first_run_ended() -> None:
    stores = fake_stores()
    last = RunSummary(run_id=_run_id(0, SyncKind.INITIAL), kind="initial", state="failed", message="401")
    _district(stores, state="error", first_synced_at=None, last_run=last)
    _user(stores, "s-1")
    result = check_sign_in(stores, TENANT, "s-1")
    assert [r.code for r in result.reasons] == ["district_not_synced"]
    assert _run_id(0, SyncKind.INITIAL) in result.reasons[0].problem and "401" in result.reasons[0].problem


# ------------------------------------------------------------------ held runs
def test_a_held_run_is_listed_with_why_and_how_many() -> None:
    stores = fake_stores()
    held = _run_id(1)
    _district(stores, state="held", last_run=RunSummary(run_id=held, kind="nightly", state="held"))
    _run(stores, _run_id(0), "succeeded")
    _run(stores, held, "held", held_deactivations=120, findings=["users: 120 of 400 would go"])
    [listed] = list_held_runs(stores)
    assert (listed.tenant_id, listed.run_id, listed.held_deactivations) == (TENANT, held, 120)
    assert listed.reasons == ("users: 120 of 400 would go",) and not listed.stale
    assert listed.district_name == f"District {TENANT}" and listed.kind == "nightly"


def test_a_hold_a_later_run_superseded_is_stale_and_listed_only_when_asked() -> None:
    stores = fake_stores()
    _district(stores, last_run=RunSummary(run_id=_run_id(2), kind="nightly", state="succeeded"))
    _run(stores, _run_id(1), "held", held_deactivations=80)
    _run(stores, _run_id(2), "succeeded")
    assert list_held_runs(stores) == []
    assert list_held_runs(stores, TENANT) == []
    [stale] = list_held_runs(stores, include_stale=True)
    assert stale.run_id == _run_id(1) and stale.stale
    assert list_held_runs(stores, TENANT, include_stale=True) == [stale]


def test_a_failed_run_after_a_hold_does_not_supersede_it() -> None:
    stores = fake_stores()
    _district(stores, state="held")
    _run(stores, _run_id(1), "held")
    _run(stores, _run_id(2), "failed")
    [held] = list_held_runs(stores)
    assert held.run_id == _run_id(1) and not held.stale


def test_only_districts_that_show_a_hold_are_searched_without_all() -> None:
    stores = fake_stores()
    _district(stores)  # active, its last run not held: its runs are not read
    _run(stores, _run_id(1), "held")
    assert list_held_runs(stores) == []
    assert [h.run_id for h in list_held_runs(stores, include_stale=True)] == [_run_id(1)]


def test_holds_of_every_district_come_newest_first() -> None:
    stores = fake_stores()
    for tenant, night in (("7001", 1), ("7002", 3), ("7003", 2)):
        held = _run_id(night, tenant=tenant)
        _district(
            stores, tenant, state="held", last_run=RunSummary(run_id=held, kind="nightly", state="held")
        )
        _run(stores, held, "held", tenant_id=tenant)
    assert [h.tenant_id for h in list_held_runs(stores)] == ["7002", "7003", "7001"]
    assert [h.tenant_id for h in list_held_runs(stores, "7003")] == ["7003"]


def test_holds_of_an_unknown_district_are_an_error() -> None:
    with pytest.raises(LookupError, match=TENANT):
        list_held_runs(fake_stores(), TENANT)
