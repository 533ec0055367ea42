"""Onboarding with no person: the sandbox district is discovered by the poll, connected, synced
and reported; polls repeat and overlap safely; districts that leave, return, are renamed or get
a new bearer land in the right states with the right words."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import timedelta
from typing import Any

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.sync_runs import SyncRun
from smartpass.settings import get_settings
from smartpass.sync.requests import SyncRequest
from smartpass_aws.onboarding_services import build_services
from tests.integration.onboarding_helpers import (
    another_district,
    changed,
    district_secrets,
    domain_poll,
    history,
    inbox,
    poll,
)
from tests.integration.sync_helpers import TENANT, sync

NIGHTLY = "NightlySyncFanoutFunction.NightlySchedule"


def _shared_counts(sandbox: SandboxServer) -> dict[str, int]:
    tenant = sandbox.world.tenants[int(TENANT)]
    users = [u for u in tenant.users().values() if u["status"] == "active"]
    if not tenant.share_unenrolled:
        enrolled = tenant.enrolled_user_ids()
        users = [u for u in users if u["sourcedId"] in enrolled]
    roles = [u["role"] for u in users]
    return {"students": roles.count("student"), "teachers": roles.count("teacher")}


def test_a_district_that_shares_is_discovered_connected_synced_and_reported(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    operators = inbox(stack)
    result = poll(stack)

    assert result["discovered"] == [TENANT] and result["connected"] == [TENANT]
    district = District.get(TENANT)
    assert district.state == DistrictState.ACTIVE.value and district.connection_ok is True
    runs = list(SyncRun.query(TENANT))
    assert [(r.kind, r.state) for r in runs] == [("initial", "succeeded")]
    expected = _shared_counts(stack_sandbox)
    synced = runs[0].synced.as_dict()
    assert (synced["students"], synced["teachers"]) == (expected["students"], expected["teachers"])
    assert synced["schools"] == 3

    kinds = [e.kind for e in history(TENANT)]
    assert kinds[:2] == ["discovered", "connected"] and "initial sync queued" in history(TENANT)[1].reason
    assert kinds[-1] == "report_sent"
    assert [e.to_state for e in history(TENANT) if e.kind == "state_changed"] == ["syncing", "active"]
    assert all(e.actor for e in history(TENANT)) and history(TENANT)[0].actor == "classlink-poll"

    operators.poll()
    reports = [line for line in operators.lines if line["event"] == "report_sent"]
    assert len(reports) == 1 and reports[0]["tenant_id"] == TENANT
    assert reports[0]["subject"] == "SmartPass is connected to ClassLink: Maple Valley Schools"
    assert f"{expected['students']} students, {expected['teachers']} teachers" in reports[0]["message"]


def test_the_report_reaches_the_district_contact_by_email(stack: LocalStack) -> None:
    ses = stack.client("ses")
    sent_before = ses.get_send_quota()["SentLast24Hours"]
    poll(stack, drain=False)  # discovered and queued; the sync has not run yet
    District.get(TENANT).update(actions=[District.contact_email.set("it-admin@maple.example.org")])
    stack.drain(timeout_seconds=300)
    assert ses.get_send_quota()["SentLast24Hours"] == sent_before + 1
    assert "district contact" in history(TENANT)[-1].reason


def test_repeated_polls_change_nothing_more(stack: LocalStack) -> None:
    poll(stack)
    events = len(history(TENANT))
    again = poll(stack)
    assert again["discovered"] == [] and again["connected"] == [] and again["queued_runs"] == []
    assert len(list(SyncRun.query(TENANT))) == 1 and len(history(TENANT)) == events
    assert len(district_secrets(stack, TENANT)) == 1


def test_overlapping_polls_make_one_district_one_secret_and_one_initial_sync(stack: LocalStack) -> None:
    results: list[Any] = []
    errors: list[BaseException] = []

    def one_poll() -> None:
        try:
            results.append(domain_poll(stack))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=one_poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stack.drain(timeout_seconds=300)

    assert sum(len(r.discovered) for r in results) == 1
    assert sum(len(r.queued_runs) for r in results) == 1
    assert len(list(District.scan())) == 1 and len(district_secrets(stack, TENANT)) == 1
    assert [(r.kind, r.state) for r in SyncRun.query(TENANT)] == [("initial", "succeeded")]


def test_a_crash_between_queueing_and_sending_is_repaired_by_a_later_poll(stack: LocalStack) -> None:
    def crash(_: SyncRequest) -> None:
        raise RuntimeError("the function died before SQS answered")

    services = build_services(get_settings(), lambda: 60.0)
    crashing = dataclasses.replace(services, send=crash)
    crashed = domain_poll(stack, crashing)
    assert crashed.errors == {TENANT: "RuntimeError: the function died before SQS answered"}
    district = District.get(TENANT)
    assert district.onboarding_request is not None and list(SyncRun.query(TENANT)) == []
    # Twenty minutes later (past the resend delay), the poll sends it again.
    stored = SyncRequest.model_validate_json(district.onboarding_request)
    earlier = stored.model_copy(update={"requested_at": stored.requested_at - timedelta(minutes=20)})
    district.update(
        actions=[
            District.onboarding_request.set(earlier.model_dump_json()),
            District.onboarding_sent_at.set(earlier.requested_at),
        ]
    )

    result = poll(stack)
    assert result["resent"] == [TENANT] and result["queued_runs"] == []
    runs = list(SyncRun.query(TENANT))
    assert [(r.run_id, r.state) for r in runs] == [(earlier.resolved_run_id(), "succeeded")]


def test_a_disabled_district_is_paused_and_a_reenabled_one_catches_up(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    with changed(stack_sandbox, int(TENANT), {"op": "disable_sharing"}, {"op": "enable_sharing"}):
        assert poll(stack)["paused"] == [TENANT]
        district = District.get(TENANT)
        assert district.state == DistrictState.PAUSED.value
        assert district.state_reason == "the district disabled the app in ClassLink Roster Server"
        fanout = stack.fire(NIGHTLY)
        assert fanout.result["enqueued"] == [] and fanout.result["skipped"] == {TENANT: "state is paused"}
    result = poll(stack)
    assert result["resumed"] == [TENANT] and result["connected"] == [TENANT]
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    runs = sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert [(r.kind, r.trigger, r.state) for r in runs] == [
        ("initial", "onboarding", "succeeded"),
        ("manual", "sharing-resumed", "succeeded"),
    ]
    kinds = [e.kind for e in history(TENANT)]
    assert kinds.index("paused") < kinds.index("resumed")


def test_a_removed_app_pauses_and_keeps_every_record(stack: LocalStack, stack_sandbox: SandboxServer) -> None:
    poll(stack)

    active = sum(1 for u in RosterUser.query(TENANT) if u.active)
    with (
        another_district(stack_sandbox),
        changed(stack_sandbox, int(TENANT), {"op": "remove_app"}, {"op": "add_app"}),
    ):
        assert poll(stack)["paused"] == [TENANT]
    assert "no longer listed" in (District.get(TENANT).state_reason or "")
    assert sum(1 for u in RosterUser.query(TENANT) if u.active) == active


def test_a_renamed_tenant_is_renamed(stack: LocalStack, stack_sandbox: SandboxServer) -> None:
    poll(stack)
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    old = tenant.name
    tenant.name = "Maple Valley Unified"
    try:
        assert poll(stack)["renamed"] == [TENANT]
    finally:
        tenant.name = old
    assert District.get(TENANT).name == "Maple Valley Unified"
    assert "from 'Maple Valley Schools' to 'Maple Valley Unified'" in history(TENANT)[-1].reason


def test_a_rotated_bearer_is_stored_and_the_next_sync_uses_it(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    old_bearer = tenant.bearer
    stack_sandbox.world.tenants[int(TENANT)].bearer = "rotated-" + old_bearer
    result = poll(stack)
    assert result["credentials_rotated"] == [TENANT]
    assert district_secrets(stack, TENANT)[0]["bearer"] == "rotated-" + old_bearer
    sync(stack, kind="manual", trigger="after-rotation")
    runs = {r.trigger: r.state for r in SyncRun.query(TENANT)}
    assert runs["after-rotation"] == "succeeded"
    assert "credentials_rotated" in [e.kind for e in history(TENANT)]


def test_a_failed_check_leaves_error_with_the_reason_and_a_later_poll_connects(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    operators = inbox(stack)
    stack_sandbox.app.faults.add(Fault(kind="http_503", tenant_id=int(TENANT), collection="orgs"))
    result = poll(stack)
    assert result["connection_failed"].keys() == {TENANT}
    district = District.get(TENANT)
    assert district.state == DistrictState.ERROR.value and district.connection_ok is False
    assert "ClassLink did not answer SmartPass's test request" in (district.state_reason or "")
    assert list(SyncRun.query(TENANT)) == []
    operators.poll()
    told = [line for line in operators.lines if line["event"] == "operator_message"]
    assert [line["subject"] for line in told] == [
        "SmartPass cannot connect to ClassLink: Maple Valley Schools"
    ]
    assert "(HTTP 503)" in told[0]["message"] and "tries again" in told[0]["message"]

    stack_sandbox.app.faults.clear()
    assert poll(stack)["connection_failed"] == {}  # too soon: the retry waits a minute first
    assert District.get(TENANT).state == DistrictState.ERROR.value
    district.update(actions=[District.updated_at.set(utcnow() - timedelta(minutes=2))])
    assert poll(stack)["connected"] == [TENANT]
    assert District.get(TENANT).state == DistrictState.ACTIVE.value


def test_no_credential_is_stored_in_dynamodb_or_written_to_a_log(
    stack: LocalStack, stack_sandbox: SandboxServer, capfd: Any, caplog: Any
) -> None:
    poll(stack)
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    secrets = [
        tenant.bearer,
        tenant.oauth1_secret,
        stack.classlink.partner_api_key,
        stack.classlink.sso_client_secret,
    ]
    dynamodb = stack.client("dynamodb")
    dumped = ""
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            dumped += json.dumps(page["Items"])
    assert dumped and District.get(TENANT).credentials_fingerprint
    captured = capfd.readouterr()
    # every log record with its structured extras, and whatever reached stdout and stderr
    logs = captured.out + captured.err + "".join(str(vars(r)) for r in caplog.records)
    assert "invitation poll done" in logs and "sync request succeeded" in logs
    for secret in secrets:
        assert secret not in dumped and secret not in logs
