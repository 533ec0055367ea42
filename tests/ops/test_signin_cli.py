"""`smartpass-ops signin check`: whether a person can sign in now, why not, and what to change,
against the local stack after real onboarding and syncs of the sandbox district. Where it says
yes or no, a real ClassLink sign-in of the same person through the sandbox LaunchPad agrees
(same verdict, same refusal page)."""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sso.pages import REFUSALS
from tests.integration.onboarding_helpers import changed, poll
from tests.integration.sso_helpers import click_tile, launchpad_browser, login_code
from tests.integration.sync_helpers import TENANT, connect_district, sync
from tests.ops.conftest import Ops


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    bind_tables(get_settings())


@pytest.fixture
def synced(stack: LocalStack) -> None:
    poll(stack)  # discovered, connected and synced by onboarding
    assert District.get(TENANT).state == DistrictState.ACTIVE.value


def _people(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return list(sandbox.world.tenants[int(TENANT)].users().values())


def _stored(sandbox: SandboxServer, keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """A sandbox user the sync stored and that `keep` accepts."""
    for user in _people(sandbox):
        if user["role"] != "guardian" and keep(user):
            try:
                RosterUser.get(TENANT, user["sourcedId"])
            except RosterUser.DoesNotExist:
                continue
            return user
    raise AssertionError("no such rostered user")


def _plain_student(sandbox: SandboxServer) -> dict[str, Any]:
    """An active, enabled student whose e-mail and full name nobody else has."""
    people = _people(sandbox)
    emails = Counter(u["email"].lower() for u in people)
    names = Counter(f"{u['givenName']} {u['familyName']}".lower() for u in people)
    return _stored(
        sandbox,
        lambda u: (
            u["role"] == "student"
            and u["status"] == "active"
            and u["enabledUser"] == "true"
            and u["email"]
            and emails[u["email"].lower()] == 1
            and names[f"{u['givenName']} {u['familyName']}".lower()] == 1
            and all(u["familyName"].lower() != v["givenName"].lower() for v in people)
        ),
    )


def _real_sign_in(sandbox: SandboxServer, sourced_id: str) -> requests.Response:
    """The person clicks the SmartPass tile in the sandbox LaunchPad."""
    return click_tile(launchpad_browser(sandbox, int(TENANT), sourced_id), sandbox)


def _refused_with(landing: requests.Response, reason: str) -> bool:
    page = REFUSALS[reason]
    return landing.status_code == page.status and html.escape(page.title) in landing.text


def test_a_rostered_student_can_sign_in_and_the_check_shows_their_roster_facts(
    ops: Ops, stack_sandbox: SandboxServer, synced: None
) -> None:
    student = _plain_student(stack_sandbox)
    result = ops("signin", "check", TENANT, student["sourcedId"])
    assert result.exit_code == 0, result.stdout
    initial = next(iter(SyncRun.query(TENANT)))
    assert "YES:" in result.stdout and student["sourcedId"] in result.stdout
    assert "student (OneRoster role student)" in result.stdout
    school = stack_sandbox.world.tenants[int(TENANT)].data["orgs"][student["orgs"][0]["sourcedId"]]
    assert f"{school['name']} ({school['sourcedId']})" in result.stdout
    assert initial.run_id in result.stdout and "not linked yet" in result.stdout

    # The real sign-in agrees, and the check then shows the linked account and the login.
    login_code(_real_sign_in(stack_sandbox, student["sourcedId"]))
    after = json.loads(ops("signin", "check", TENANT, student["sourcedId"], "--json").stdout)
    linked = stack_sandbox.world.tenants[int(TENANT)].classlink_user_ids[student["sourcedId"]]
    assert after["can_sign_in"] is True and after["reasons"] == []
    assert after["person"]["classlink_user_id"] == str(linked)
    assert after["person"]["last_login_at"] is not None
    assert after["person"]["last_seen_by"]["run_id"] == initial.run_id


def test_found_by_email_or_name_in_any_case(ops: Ops, stack_sandbox: SandboxServer, synced: None) -> None:
    student = _plain_student(stack_sandbox)
    by_email = ops("signin", "check", TENANT, student["email"].upper(), "--json")
    name = f"  {student['givenName'].lower()}   {student['familyName'].upper()} "
    by_name = ops("signin", "check", TENANT, name, "--json")
    by_family_first = ops("signin", "check", TENANT, f"{student['familyName']}, {student['givenName']}")
    for result, matched_by in [(by_email, "e-mail"), (by_name, "name")]:
        assert result.exit_code == 0, result.stdout
        answer = json.loads(result.stdout)
        assert (answer["matched_by"], answer["person"]["sourced_id"]) == (matched_by, student["sourcedId"])
    assert by_family_first.exit_code == 0 and student["sourcedId"] in by_family_first.stdout


def test_several_matches_are_listed_and_a_sourced_id_is_asked_for(
    ops: Ops, stack_sandbox: SandboxServer, synced: None
) -> None:
    # The sandbox gives some users a shared e-mail (siblings, a shared staff inbox).
    stored = {u.sourced_id: u for u in RosterUser.query(TENANT)}
    by_email: dict[str, list[str]] = {}
    for user in stored.values():
        if user.email:
            by_email.setdefault(user.email.lower(), []).append(user.sourced_id)
    email, sharing = next((e, ids) for e, ids in by_email.items() if len(ids) > 1)
    result = ops("signin", "check", TENANT, email)
    assert result.exit_code == 3
    assert "Several people" in result.stdout and "with one sourcedId" in result.stdout
    assert all(sourced_id in result.stdout for sourced_id in sharing)
    assert "YES:" not in result.stdout and "NO:" not in result.stdout


def test_a_deactivated_user_cannot_sign_in_and_the_check_says_which_run_and_why(
    ops: Ops, stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    student = _plain_student(stack_sandbox)
    sourced_id = student["sourcedId"]
    undo = {"op": "edit_user", "sourcedId": sourced_id, "fields": {"status": "active"}}
    with changed(stack_sandbox, int(TENANT), {"op": "mark_tobedeleted", "sourcedIds": [sourced_id]}, undo):
        sync(stack, trigger="after-deletion")
        result = ops("signin", "check", TENANT, sourced_id)
        answer = json.loads(ops("signin", "check", TENANT, sourced_id, "--json").stdout)
        landing = _real_sign_in(stack_sandbox, sourced_id)
    deactivating = RosterUser.get(TENANT, sourced_id).last_run_id
    assert result.exit_code == 1
    assert "NO:" in result.stdout and REFUSALS["user_deactivated"].title in result.stdout
    assert [r["code"] for r in answer["reasons"]] == ["user_deactivated"]
    problem = answer["reasons"][0]["problem"]
    assert f"Deactivated by sync run {deactivating}" in problem
    assert "marked the person to be deleted" in problem
    assert f"smartpass-ops sync start {TENANT}" in answer["reasons"][0]["fix"]
    assert answer["person"]["active"] is False and answer["person"]["last_seen_by"] is None
    assert _refused_with(landing, "user_deactivated")


def test_a_disabled_account_cannot_sign_in(ops: Ops, stack_sandbox: SandboxServer, synced: None) -> None:
    user = _stored(stack_sandbox, lambda u: u["enabledUser"] == "false" and u["status"] == "active")
    result = ops("signin", "check", TENANT, user["sourcedId"], "--json")
    assert result.exit_code == 1
    [reason] = json.loads(result.stdout)["reasons"]
    assert (reason["code"], reason["title"]) == ("user_disabled", REFUSALS["user_disabled"].title)
    assert "enabledUser is false" in reason["problem"]
    assert _refused_with(_real_sign_in(stack_sandbox, user["sourcedId"]), "user_disabled")


def test_someone_never_rostered_gets_the_sharing_rules_to_check(
    ops: Ops, stack_sandbox: SandboxServer, synced: None
) -> None:
    guardian = next(u for u in _people(stack_sandbox) if u["role"] == "guardian")  # never synced
    for who in (guardian["sourcedId"], guardian["email"], "nobody@nowhere.example"):
        result = ops("signin", "check", TENANT, who)
        assert result.exit_code == 1, who
        assert "NO:" in result.stdout
        [reason] = json.loads(ops("signin", "check", TENANT, who, "--json").stdout)["reasons"]
        assert reason["code"] == "user_not_shared" and who in reason["title"]
        assert "Check the spelling" in reason["problem"]
        assert REFUSALS["user_not_shared"].title in reason["problem"]  # what the person is shown
        assert "sharing rules" in reason["fix"] and "Unenrolled Users" in reason["fix"]
        assert "Guardians are never synced" in reason["fix"]


def test_a_paused_district_refuses_everyone_and_says_how_to_resume(
    ops: Ops, stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    student = _plain_student(stack_sandbox)
    with changed(stack_sandbox, int(TENANT), {"op": "disable_sharing"}, {"op": "enable_sharing"}):
        poll(stack)
        assert District.get(TENANT).state == DistrictState.PAUSED.value
        result = ops("signin", "check", TENANT, student["sourcedId"], "--json")
        text = ops("signin", "check", TENANT, student["sourcedId"])
        landing = _real_sign_in(stack_sandbox, student["sourcedId"])
    answer = json.loads(result.stdout)
    assert result.exit_code == 1 and answer["can_sign_in"] is False
    assert [r["code"] for r in answer["reasons"]] == ["district_paused"]
    assert answer["district"]["state"] == "paused" and answer["person"]["active"] is True
    assert "enables the SmartPass app in ClassLink Roster Server again" in answer["reasons"][0]["fix"]
    assert text.exit_code == 1 and REFUSALS["district_paused"].title in text.stdout
    assert "paused" in text.stdout and "disabled" in answer["district"]["state_reason"]
    assert _refused_with(landing, "district_paused")


def test_a_district_whose_first_sync_has_not_finished(
    ops: Ops, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack, drain=False)  # connected, its initial sync queued but not run
    student = next(
        u
        for u in _people(stack_sandbox)
        if u["role"] == "student" and u["status"] == "active" and u["enabledUser"] == "true"
    )
    before = json.loads(ops("signin", "check", TENANT, student["sourcedId"], "--json").stdout)
    assert before["can_sign_in"] is False
    assert [r["code"] for r in before["reasons"]] == ["district_not_synced", "user_not_shared"]
    assert "first sync has not finished" in before["reasons"][0]["problem"]
    stack.drain(timeout_seconds=300)
    assert ops("signin", "check", TENANT, student["sourcedId"]).exit_code == 0


def test_a_role_the_district_maps_to_no_allowed_role(
    ops: Ops, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    connect_district(stack, stack_sandbox, role_mapping={"teacher": "observer"})
    sync(stack, kind="initial", trigger="first")
    teacher = _stored(stack_sandbox, lambda u: u["role"] == "teacher" and u["enabledUser"] == "true")
    result = ops("signin", "check", TENANT, teacher["sourcedId"])
    assert result.exit_code == 1 and REFUSALS["role_not_allowed"].title in result.stdout
    [reason] = json.loads(ops("signin", "check", TENANT, teacher["sourcedId"], "--json").stdout)["reasons"]
    assert "gives OneRoster role 'teacher' the SmartPass role 'observer'" in reason["problem"]
    assert f"districts settings {TENANT} --role-map teacher=<role>" in reason["fix"]
    assert _refused_with(_real_sign_in(stack_sandbox, teacher["sourcedId"]), "role_not_allowed")


def test_an_unknown_district(ops: Ops) -> None:
    result = ops("signin", "check", "777777", "anyone@example.org", "--json")
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert [r["code"] for r in answer["reasons"]] == ["district_not_connected"]
    assert "no district with ClassLink tenant id 777777" in answer["reasons"][0]["problem"]
    assert answer["district"] is None and answer["person"] is None


def test_an_empty_name_is_a_usage_error(ops: Ops, synced: None) -> None:
    result = ops("signin", "check", TENANT, "  ")
    assert result.exit_code == 2 and "name the person" in result.stderr
