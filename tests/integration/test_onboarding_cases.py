"""Onboarding's harder cases: roster health findings for districts generated with each problem,
OAuth1-only districts (no proxy bearer), a refused connection that recovers, and an operator
registering a district by hand."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import SyncRun
from smartpass.onboarding.register import RegistrationError, register_district
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


def _initial(tenant_id: str) -> SyncRun:
    runs = [r for r in SyncRun.query(tenant_id) if r.kind == "initial"]
    assert len(runs) == 1
    return runs[0]


def _findings(tenant_id: str) -> dict[str, int]:
    return {f.code: int(f.count) for f in _initial(tenant_id).health or []}


def test_health_findings_name_each_problem_with_its_fix(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    operators = inbox(stack)
    with (
        another_district(stack_sandbox, 2101, teachers=0, aides=0, administrators=0, share_unenrolled=False),
        another_district(
            stack_sandbox,
            2102,
            students=60,
            teachers=4,
            share_unenrolled=True,
            students_without_school=12,
            missing_emails=5,
            duplicate_emails=4,
        ),
    ):
        poll(stack)

    assert _findings("2101") == {"no_teachers": 0, "no_staff": 0}
    assert _findings("2102") == {"students_without_school": 12, "missing_emails": 5, "shared_emails": 4}
    health = {f.code: f for f in _initial("2102").health or []}
    assert health["students_without_school"].message == "12 students belong to no school."
    assert health["shared_emails"].message == "4 users share an e-mail."
    assert health["missing_emails"].message == "5 users have no e-mail, so they cannot use e-mail sign-in."
    staff_fix = {f.code: f.fix for f in _initial("2101").health or []}["no_staff"]
    assert "Unenrolled Users" in staff_fix

    operators.poll()
    report = next(x for x in operators.lines if x["event"] == "report_sent" and x["tenant_id"] == "2101")
    assert "- No teachers were shared. Fix: Check the SmartPass app's data sharing rules" in report["message"]
    assert "Administrators and office staff are missing." in report["message"]


def test_an_oauth1_only_district_is_connected_through_its_server_endpoint(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    with another_district(stack_sandbox, 2103, oauth1_only=True) as tenant:
        poll(stack)
        secret = district_secrets(stack, "2103")
        summary = next(t for t in stack_sandbox.describe()["tenants"] if t["tenant_id"] == 2103)
    assert [s["mode"] for s in secret] == ["oauth1"]
    assert (
        secret[0]["client_id"] == tenant.oauth1_key and secret[0]["endpoint_url"] == summary["endpoint_url"]
    )
    district = District.get("2103")
    assert (district.state, district.connection_mode) == (DistrictState.ACTIVE.value, "oauth1")
    assert _initial("2103").state == "succeeded"


def test_refused_credentials_mark_the_district_and_a_later_poll_reconnects_it(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    stack_sandbox.change(int(TENANT), {"op": "oauth1_only", "value": True})  # the proxy bearer stops working
    try:
        sync(stack, kind="manual", trigger="after-revocation")
        district = District.get(TENANT)
        assert district.state == DistrictState.ERROR.value
        assert (district.sharing_enabled, district.connection_ok) == (False, False)
        assert "refused our credentials" in (district.state_reason or "")
        district.update(actions=[District.updated_at.set(utcnow() - timedelta(minutes=2))])

        result = poll(stack)
        assert result["connected"] == [TENANT]
    finally:
        stack_sandbox.change(int(TENANT), {"op": "oauth1_only", "value": False})
    district = District.get(TENANT)
    assert (district.state, district.connection_mode, district.sharing_enabled) == ("active", "oauth1", True)
    assert district_secrets(stack, TENANT)[0]["client_id"] == tenant.oauth1_key
    kinds = [e.kind for e in history(TENANT)]
    assert kinds.count("connected") == 2 and kinds[-1] == "state_changed"


def test_an_operator_registers_a_district_by_hand(stack: LocalStack, stack_sandbox: SandboxServer) -> None:
    services = build_services(get_settings(), lambda: 60.0)
    with another_district(stack_sandbox, 2104, oauth1_only=True, listed=False) as tenant:
        summary = next(t for t in stack_sandbox.describe()["tenants"] if t["tenant_id"] == 2104)
        outcome = register_district(
            "2104",
            "Hand-Registered ISD",
            tenant.oauth1_key,
            tenant.oauth1_secret,
            summary["endpoint_url"],
            operator="ops@smartpass",
            services=services,
            contact_email="it@hand.example.org",
        )
        assert outcome.connected and outcome.queued_run_id
        stack.drain(timeout_seconds=120)
        district = District.get("2104")
        assert (district.state, district.registration) == (DistrictState.ACTIVE.value, "operator")
        # Not listed by the Partner API, and the poll leaves it alone.
        assert "2104" not in poll(stack)["paused"]
        assert District.get("2104").state == DistrictState.ACTIVE.value
        assert history("2104")[0].actor == "operator:ops@smartpass"

        with pytest.raises(RegistrationError, match="https"):
            register_district("2105", "X", "k", "s", "http://roster.example.org", "ops", services)
    poll(stack)
    with pytest.raises(RegistrationError, match="already connected through the ClassLink Partner API"):
        register_district(TENANT, "X", "k", "s", "https://roster.example.org", "ops", services)


def test_one_districts_trouble_does_not_stop_the_poll_for_the_others(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    real = build_services(get_settings(), lambda: 60.0)

    def send(request: SyncRequest) -> None:
        if request.tenant_id == "2002":
            raise RuntimeError("SQS throttled this one")
        real.send(request)

    services = dataclasses.replace(real, send=send)
    with another_district(stack_sandbox, 2002):
        result = domain_poll(stack, services)
    assert result.errors == {"2002": "RuntimeError: SQS throttled this one"}
    assert TENANT in result.connected and len(result.queued_runs) == 1
    stack.drain(timeout_seconds=120)
    assert District.get(TENANT).state == DistrictState.ACTIVE.value


def test_an_onboarding_sync_replaced_by_a_newer_one_is_skipped_and_reported_once(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    operators = inbox(stack)
    with another_district(stack_sandbox, 2002):  # so the disabled district is not the only one
        poll(stack, drain=False)  # the initial sync waits in the queue...
        with changed(stack_sandbox, int(TENANT), {"op": "disable_sharing"}, {"op": "enable_sharing"}):
            poll(stack, drain=False)  # ...the district pauses...
        assert poll(stack, drain=False)["resumed"] == [TENANT]  # ...and comes back: a new initial
        stack.drain(timeout_seconds=300)
    runs = sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert [(r.kind, r.state) for r in runs] == [("initial", "skipped"), ("initial", "succeeded")]
    assert runs[0].error == "a newer onboarding sync replaced it"  # why it was skipped
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    operators.poll()
    reports = [x for x in operators.lines if x["event"] == "report_sent" and x["tenant_id"] == TENANT]
    assert len(reports) == 1


def test_a_failure_that_repeats_the_last_one_is_reported_once(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    operators = inbox(stack)
    stack_sandbox.app.faults.add(Fault(kind="http_500", tenant_id=int(TENANT), collection="users"))
    sync(stack, kind="manual", trigger="first-failure")
    sync(stack, kind="manual", trigger="same-failure-again")
    runs = {r.trigger: r for r in SyncRun.query(TENANT)}
    assert runs["first-failure"].state == runs["same-failure-again"].state == "failed"
    operators.poll()
    failed = [x for x in operators.lines if x["event"] == "report_sent" and "failed" in x["subject"]]
    assert len(failed) == 1, [(x["subject"], x["message"][-120:]) for x in failed]
    assert runs["first-failure"].run_id in failed[0]["message"]


def test_an_operator_takes_over_a_district_classlink_gives_no_usable_key_for(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    stack_sandbox.app.faults.add(Fault(kind="http_503", tenant_id=int(TENANT), collection="orgs"))
    poll(stack)
    stack_sandbox.app.faults.clear()
    assert District.get(TENANT).state == DistrictState.ERROR.value
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    summary = next(t for t in stack_sandbox.describe()["tenants"] if t["tenant_id"] == int(TENANT))
    services = build_services(get_settings(), lambda: 60.0)
    outcome = register_district(
        TENANT, tenant.name, tenant.oauth1_key, tenant.oauth1_secret, summary["endpoint_url"], "ops", services
    )
    assert outcome.connected
    stack.drain(timeout_seconds=120)
    district = District.get(TENANT)
    assert (district.registration, district.connection_mode, district.state) == (
        "operator",
        "oauth1",
        "active",
    )
