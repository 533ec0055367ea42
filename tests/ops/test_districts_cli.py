"""`smartpass-ops districts ...` against the shared local stack: the ClassLink poll, the real
worker and the sandbox do the work; the CLI reads and changes what they left."""

from __future__ import annotations

import json

import pytest

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from tests.integration.onboarding_helpers import another_district, history, poll
from tests.integration.sync_helpers import TENANT
from tests.ops.conftest import Ops


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    """The tests read and write the models directly, so bind them as the handlers do."""
    bind_tables(get_settings())


def _onboarded(stack: LocalStack) -> District:
    """District 2001 found by the poll, connected and through its initial sync."""
    poll(stack)
    district = District.get(TENANT)
    assert district.state == DistrictState.ACTIVE.value
    return district


def test_list_without_districts_says_so(ops: Ops) -> None:
    result = ops("districts", "list")
    assert result.exit_code == 0
    assert "No districts yet" in result.stdout
    assert json.loads(ops("districts", "list", "--json").stdout) == []


def test_list_shows_state_last_run_and_counts(stack: LocalStack, ops: Ops) -> None:
    district = _onboarded(stack)
    assert district.last_run is not None
    counts = district.last_run.counts.as_dict()
    fetched = int(counts["fetched"])

    result = ops("districts", "list")
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.strip("│ ").startswith(TENANT))
    assert "Maple Valley Schools" in row and "active" in row and "initial succeeded" in row
    assert f"{fetched} fetched" in row

    [listed] = json.loads(ops("districts", "list", "--json").stdout)
    assert (listed["tenant_id"], listed["name"], listed["state"]) == (
        TENANT,
        "Maple Valley Schools",
        "active",
    )
    assert listed["last_run"]["kind"] == "initial" and listed["last_run"]["state"] == "succeeded"
    assert listed["last_run"]["counts"]["fetched"] == fetched > 0
    assert listed["last_run"]["counts"]["created"] == int(counts["created"]) > 0


def test_a_tenant_name_with_terminal_escapes_is_shown_without_them(ops: Ops) -> None:
    hostile = "\x1b[31mMaple\x1b]8;;https://evil.example\x07 Valley\u202e"
    District(tenant_id="6006", name=hostile, state=DistrictState.ACTIVE.value).save()
    for command in (("districts", "list"), ("districts", "show", "6006")):
        result = ops(*command)
        assert result.exit_code == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
        assert "Maple" in result.stdout
    # JSON output escapes them, as JSON does: a program reading it gets the name as ClassLink sent it
    assert json.loads(ops("districts", "list", "--json").stdout)[0]["name"] == hostile


def test_show_has_runs_counts_findings_and_history(stack: LocalStack, ops: Ops) -> None:
    _onboarded(stack)
    [run] = list(SyncRun.query(TENANT))

    result = ops("districts", "show", TENANT)
    assert result.exit_code == 0, result.stderr
    assert "Maple Valley Schools" in result.stdout and run.run_id in result.stdout
    assert "Roster health" in result.stdout and "History" in result.stdout
    assert "discovered" in result.stdout and "classlink-poll" in result.stdout

    detail = json.loads(ops("districts", "show", TENANT, "--json").stdout)
    [shown] = detail["runs"]
    assert (shown["run_id"], shown["kind"], shown["state"]) == (run.run_id, "initial", "succeeded")
    total = run.counts.as_dict()["total"]
    assert shown["counts"]["fetched"] == total["fetched"] and shown["counts"]["created"] == total["created"]
    assert shown["by_collection"]["users"]["created"] == run.counts.as_dict()["users"]["created"]
    assert shown["synced"]["students"] > 0
    assert [e["kind"] for e in detail["history"]][-1] == "discovered"  # newest first
    assert detail["settings"]["collections"] == ["terms", "orgs", "users", "classes", "enrollments"]
    assert (detail["registration"], detail["connection_mode"], detail["paused_by"]) == (
        "partner-api",
        "proxy",
        None,
    )


def test_show_of_an_unknown_district_says_so(ops: Ops) -> None:
    result = ops("districts", "show", "9999")
    assert result.exit_code == 1
    assert "no district with tenant id 9999" in result.stderr


def test_register_by_hand_asks_for_the_secret_and_never_shows_it(
    stack: LocalStack, stack_sandbox: SandboxServer, ops: Ops
) -> None:
    with another_district(stack_sandbox, 2104, oauth1_only=True, listed=False) as tenant:
        summary = next(t for t in stack_sandbox.describe()["tenants"] if t["tenant_id"] == 2104)
        result = ops(
            "districts", "register", "2104",
            "--name", "Hand-Registered ISD",
            "--key", tenant.oauth1_key,
            "--endpoint", summary["endpoint_url"],
            "--contact-email", "it@hand.example.org",
            "--operator", "alice",
            input=f"{tenant.oauth1_secret}\n",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert tenant.oauth1_secret not in result.stdout + result.stderr
        assert "Registered" in result.stdout and "First sync queued" in result.stdout
        stack.drain(timeout_seconds=120)
    district = District.get("2104")
    assert (district.registration, district.connection_mode, district.state) == (
        "operator",
        "oauth1",
        "active",
    )
    assert history("2104")[0].actor == "operator:alice"
    shown = ops("districts", "show", "2104", "--json").stdout
    assert json.loads(shown)["contact_email"] == "set (…@hand.example.org)"
    assert "it@hand.example.org" not in shown


def test_register_refuses_an_endpoint_in_clear_text(ops: Ops) -> None:
    result = ops(
        "districts", "register", "2105", "--name", "X", "--key", "k",
        "--endpoint", "http://roster.example.org", "--operator", "alice", input="s\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "https" in result.stderr
    assert District.count() == 0


def test_an_operators_pause_sticks_through_the_poll_until_an_operator_resumes(
    stack: LocalStack, ops: Ops
) -> None:
    _onboarded(stack)
    result = ops("districts", "pause", TENANT, "--reason", "district asked us to stop", "--operator", "alice")
    assert result.exit_code == 0, result.stderr
    assert District.get(TENANT).state == DistrictState.PAUSED.value

    # ClassLink still lists the app as enabled: the poll must not resume it.
    assert poll(stack)["resumed"] == []
    district = District.get(TENANT)
    assert (district.state, district.paused_by) == ("paused", "operator:alice")
    again = ops("districts", "pause", TENANT, "--reason", "twice", "--operator", "bob")
    assert again.exit_code == 1 and "already paused by operator:alice" in again.stderr

    result = ops("districts", "resume", TENANT, "--operator", "bob")
    assert result.exit_code == 0, result.stderr
    assert "Sync queued" in result.stdout
    stack.drain(timeout_seconds=120)
    district = District.get(TENANT)
    assert (district.state, district.paused_by) == ("active", None)
    runs = sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)
    # As the poll's resume does: a catch-up manual sync after the initial one.
    assert [(r.kind, r.trigger, r.state) for r in runs][-1] == ("manual", "sharing-resumed", "succeeded")
    events = [(e.kind, e.actor) for e in history(TENANT)]
    assert ("paused", "operator:alice") in events and ("resumed", "operator:bob") in events


def test_resume_of_a_district_that_is_not_paused_is_refused(stack: LocalStack, ops: Ops) -> None:
    _onboarded(stack)
    result = ops("districts", "resume", TENANT, "--operator", "bob")
    assert result.exit_code == 1
    assert "is active, not paused" in result.stderr


def test_settings_show_and_change_with_history(stack: LocalStack, ops: Ops) -> None:
    _onboarded(stack)
    shown = ops("districts", "settings", TENANT)
    assert shown.exit_code == 0, shown.stderr
    assert "10% of a collection's active records, at least 50" in shown.stdout

    result = ops(
        "districts", "settings", TENANT,
        "--threshold", "15", "--threshold-minimum", "20",
        "--blackout", "2026-12-24", "--blackout", "2026-12-25",
        "--collections", "orgs,users,classes",
        "--role-map", "aide=teacher", "--role-map", "counselor=",
        "--operator", "carol",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    saved = District.get(TENANT).sync_settings
    assert (float(saved.deactivation_threshold_percent), int(saved.deactivation_threshold_minimum)) == (
        15,
        20,
    )
    assert list(saved.blackout_dates) == ["2026-12-24", "2026-12-25"]
    assert list(saved.collections) == ["orgs", "users", "classes"]
    assert saved.role_mapping.as_dict() == {"aide": "teacher", "counselor": ""}
    [event] = [e for e in DistrictEvent.query(TENANT) if e.kind == "settings_changed"]
    assert event.actor == "operator:carol" and "15% (min 20)" in event.reason

    cleared = ops(
        "districts", "settings", TENANT, "--clear-blackout", "--reset-role-map", "--operator", "carol"
    )
    assert cleared.exit_code == 0, cleared.stderr
    saved = District.get(TENANT).sync_settings
    assert list(saved.blackout_dates) == [] and saved.role_mapping.as_dict() == {}
    assert float(saved.deactivation_threshold_percent) == 15  # what was not given stays


def test_settings_refuse_bad_input_in_plain_words(stack: LocalStack, ops: Ops) -> None:
    _onboarded(stack)
    cases = {
        ("--blackout", "2026-02-30"): "is not a date as YYYY-MM-DD",
        ("--collections", "users,grades"): "unknown collection grades",
        ("--collections", "terms,classes"): "orgs and users are always synced",
        ("--role-map", "aide"): "is not CLASSLINK_ROLE=SMARTPASS_ROLE",
        ("--role-map", "aide=boss"): "is not a SmartPass role",
        ("--role-map", "guardian=staff"): "never synced",
        ("--threshold", "0"): "above 0, at most 100",
    }
    for args, message in cases.items():
        result = ops("districts", "settings", TENANT, *args, "--operator", "carol")
        assert result.exit_code == 1, args
        assert message in result.stderr, (args, result.stderr)
    assert not [e for e in DistrictEvent.query(TENANT) if e.kind == "settings_changed"]


def test_an_action_needs_an_operator_name(ops: Ops, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USER", raising=False)
    result = ops("districts", "pause", TENANT, "--reason", "maintenance")
    assert result.exit_code == 1
    assert "--operator NAME" in result.stderr
    monkeypatch.setenv("USER", "dana")  # the default, as in a shell
    result = ops("districts", "pause", TENANT, "--reason", "maintenance")
    assert result.exit_code == 1 and "no district with tenant id 2001" in result.stderr


def test_the_secret_is_never_a_command_line_argument(ops: Ops) -> None:
    result = ops(
        "districts", "register", "2106", "--name", "X", "--key", "k", "--secret", "s",
        "--endpoint", "https://roster.example.org", "--operator", "alice",
    )  # fmt: skip
    assert result.exit_code == 2 and "No such option" in result.stderr
    assert District.count() == 0
