"""Each event kind of template.yaml delivered by the local stack to the real handlers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pydantic import ValidationError

from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault
from classlink_sandbox.generator import DistrictSpec, generate
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.classlink.partner_api import ApplicationRow
from smartpass.data.districts import District, DistrictState
from smartpass.data.login import LoginState
from smartpass.data.stores import dynamo_stores
from smartpass.data.sync_runs import SyncRun
from smartpass.onboarding.connect import OnboardingServices
from smartpass.onboarding.discovery import reconcile_districts
from tests.integration.sync_helpers import connect_district

TENANT = "2001"


def _poll(stack: LocalStack) -> Any:
    return stack.fire("InvitationPollFunction.PollSchedule")


def _queue_counts(
    stack: LocalStack, env_name: str = "SYNC_QUEUE_URL", url: str | None = None
) -> tuple[int, int]:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=url or stack.environment[env_name],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _send(stack: LocalStack, body: dict[str, Any] | str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    stack.client("sqs").send_message(QueueUrl=stack.environment["SYNC_QUEUE_URL"], MessageBody=text)


def _request(trigger: str = "manual-1", tenant: str = TENANT) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "kind": "manual",
        "trigger": trigger,
        "requested_at": "2026-11-29T02:00:00+00:00",
    }


# ------------------------------------------------------------------ schedule -> invitation poll
def test_poll_discovers_a_live_tenant_once(stack: LocalStack) -> None:
    first = _poll(stack)
    second = _poll(stack)
    assert first.ok and first.result["discovered"] == [TENANT]
    assert second.ok and second.result["discovered"] == []
    district = District.get(TENANT)
    assert (district.name, district.state) == ("Maple Valley Schools", DistrictState.CONNECTING.value)


def test_poll_pauses_a_district_that_removed_the_app_and_resumes_it(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    other = stack_sandbox.world.tenants.get(2002) or stack_sandbox.world.add_tenant(
        generate(DistrictSpec(tenant_id=2002, name="Birch County", students=10, teachers=2))
    )
    apply_change(other, {"op": "add_app"})
    try:
        assert sorted(_poll(stack).result["discovered"]) == [TENANT, "2002"]
        apply_change(tenant, {"op": "remove_app"})
        assert _poll(stack).result["paused"] == [TENANT]
        paused = District.get(TENANT)
        assert paused.state == DistrictState.PAUSED.value
        assert "no longer listed" in (paused.state_reason or "")
        apply_change(other, {"op": "disable_sharing"})
        assert _poll(stack).result["paused"] == ["2002"]
        assert "disabled the app" in (District.get("2002").state_reason or "")
        apply_change(tenant, {"op": "add_app"})
        assert _poll(stack).result["resumed"] == [TENANT]
        assert District.get(TENANT).state == DistrictState.CONNECTING.value
    finally:
        apply_change(tenant, {"op": "add_app"})
        apply_change(other, {"op": "enable_sharing"})
        apply_change(other, {"op": "remove_app"})


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("http_503", "answered 503"),
        ("http_429", "answered 429"),
        ("no_envelope", "no applications array"),
        ("truncated_json", "invalid JSON"),
        ("drop", "unreachable"),
    ],
)
def test_poll_failure_changes_nothing_and_fails_the_invocation_for_a_retry(
    stack: LocalStack, stack_sandbox: SandboxServer, kind: str, reason: str
) -> None:
    _poll(stack)
    before = District.get(TENANT).serialize()
    # Fails the first attempt and both of Lambda's async retries (EventInvokeConfig).
    stack_sandbox.app.faults.add(Fault(kind=kind, collection="applications", times=3))
    outcome = _poll(stack)
    assert not outcome.ok and reason in (outcome.error or "")
    assert District.get(TENANT).serialize() == before
    assert stack_sandbox.world.partner_api_key not in (outcome.error or "")
    missed = _missed_ticks(stack)
    assert [m["requestContext"]["condition"] for m in missed] == ["RetriesExhausted"]
    assert missed[0]["requestContext"]["approximateInvokeCount"] == 3
    assert missed[0]["requestPayload"]["source"] == "schedule"
    assert missed[0]["responsePayload"]["errorType"] == "ClassLinkError"


def _missed_ticks(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.ref("ScheduleDeadLetterQueue"), MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_transient_partner_api_failure_is_absorbed_by_lambdas_retry(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    stack_sandbox.app.faults.add(Fault(kind="http_502", collection="applications", times=2))
    outcome = _poll(stack)
    assert outcome.ok and outcome.result["discovered"] == [TENANT]
    assert _missed_ticks(stack) == []


def test_an_empty_tenant_list_pauses_nobody(stack: LocalStack, stack_sandbox: SandboxServer) -> None:
    _poll(stack)
    stack_sandbox.app.faults.add(Fault(kind="empty", collection="applications", times=1))
    outcome = _poll(stack)
    assert outcome.ok and outcome.result["paused"] == [] and outcome.result["empty_list_ignored"] is True
    assert District.get(TENANT).state == DistrictState.CONNECTING.value


def test_sns_invitation_email_triggers_a_poll(stack: LocalStack) -> None:
    topic = stack.ref("InvitationEmailTopic")
    before = stack.functions["InvitationPollFunction"].stats["sns:ok"]
    stack.client("sns").publish(TopicArn=topic, Message="A district added SmartPass")
    stack.drain()
    assert stack.functions["InvitationPollFunction"].stats["sns:ok"] == before + 1
    # the nudge's poll connected the district and queued its initial sync, which the drain ran
    district = District.get(TENANT)
    assert district.state == DistrictState.ACTIVE.value and district.last_run.kind == "initial"


# ------------------------------------------------------------------ schedule -> fan-out -> SQS -> worker
def _activate(blackout: list[str] | None = None) -> None:
    District(tenant_id=TENANT, name="Maple", state=DistrictState.ACTIVE.value).save()
    District(tenant_id="2999", name="Paused one", state=DistrictState.PAUSED.value).save()
    if blackout:
        district = District.get(TENANT)
        district.sync_settings.blackout_dates = blackout
        district.save()


def test_nightly_tick_fans_out_one_message_per_active_district_and_the_worker_syncs_it(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    connect_district(stack, stack_sandbox, state=DistrictState.ACTIVE.value)
    District(tenant_id="2999", name="Paused one", state=DistrictState.PAUSED.value).save()
    outcome = stack.fire("NightlySyncFanoutFunction.NightlySchedule")
    assert outcome.ok
    assert outcome.result == {"enqueued": [TENANT], "skipped": {"2999": "state is paused"}}
    assert _queue_counts(stack) == (1, 0)
    stack.drain()
    runs = list(SyncRun.query(TENANT))
    assert [(r.kind, r.state) for r in runs] == [("nightly", "succeeded")]
    assert runs[0].trigger.startswith("schedule:")
    assert _queue_counts(stack) == (0, 0)


def test_blackout_date_skips_the_district(stack: LocalStack) -> None:
    _activate(blackout=["2026-11-30"])
    outcome = stack.schedules["NightlySyncFanoutFunction.NightlySchedule"].fire(
        at=datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    )
    assert outcome.result["enqueued"] == []
    assert outcome.result["skipped"][TENANT] == "blackout date"


def test_blackout_dates_are_the_schedules_local_dates_not_utcs(stack: LocalStack) -> None:
    # 03:30 UTC on 1 December is still 30 November in America/New_York (ScheduleTimezone).
    tick = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    schedule = stack.schedules["NightlySyncFanoutFunction.NightlySchedule"]
    _activate(blackout=["2026-11-30"])
    assert schedule.fire(at=tick).result["skipped"][TENANT] == "blackout date"
    district = District.get(TENANT)
    district.sync_settings.blackout_dates = ["2026-12-01"]
    district.save()
    assert schedule.fire(at=tick).result["enqueued"] == [TENANT]


def test_duplicate_messages_open_one_run(stack: LocalStack) -> None:
    _activate()
    _send(stack, _request("dup"))
    _send(stack, _request("dup"))
    stack.drain()
    assert len(list(SyncRun.query(TENANT))) == 1
    assert _queue_counts(stack) == (0, 0)  # the duplicate succeeded (idempotent), so it was deleted


def test_malformed_message_is_reported_kept_and_redriven_to_the_dlq(stack: LocalStack, caplog: Any) -> None:
    _activate()
    _send(stack, '{"tenant_id": "2001", "kind": "nightly"')  # truncated JSON
    caplog.set_level(logging.WARNING)
    sqs = stack.client("sqs")
    source = stack.sqs_sources[0]
    for _ in range(3):  # maxReceiveCount in template.yaml
        failed_before = source.failed
        stack.drain()
        assert source.failed == failed_before + 1
        assert source.release_failed() == 1  # stands in for the 30-minute visibility timeout
    dlq_url = sqs.get_queue_url(QueueName=f"{stack.prefix}-SyncDeadLetterQueue")["QueueUrl"]
    stack.drain()
    dead = sqs.receive_message(QueueUrl=dlq_url).get("Messages", [])
    assert [m["Body"] for m in dead] == ['{"tenant_id": "2001", "kind": "nightly"']
    assert list(SyncRun.query(TENANT)) == []
    # each failed delivery left a log line that names the message (never its body)
    failures = [r for r in caplog.records if r.getMessage().startswith("sync message failed")]
    assert len(failures) == 3
    assert all(getattr(r, "message_id", None) and '"kind"' not in str(vars(r)) for r in failures)


def test_message_for_an_unknown_district_fails_and_writes_nothing(stack: LocalStack) -> None:
    _send(stack, _request(tenant="424242"))
    stack.drain()
    assert stack.sqs_sources[0].failed >= 1
    assert _queue_counts(stack) == (0, 1)  # kept, invisible until the visibility timeout
    assert list(SyncRun.query("424242")) == []


# ------------------------------------------------------------------ HTTP API -> SSO routes
def test_health_and_unknown_route(stack: LocalStack) -> None:
    assert stack.gateway is not None
    health = requests.get(f"{stack.gateway.url}/health", timeout=5)
    assert health.status_code == 200 and health.json() == {"status": "ok", "stage": "local"}
    missing = requests.get(f"{stack.gateway.url}/nope", timeout=5)
    assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}


def test_launch_stores_state_and_redirects_to_classlink_with_pkce(stack: LocalStack) -> None:
    assert stack.gateway is not None
    response = requests.get(
        f"{stack.gateway.url}/sso/classlink/launch?return_to=/passes", allow_redirects=False, timeout=5
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        stack.environment["CLASSLINK_LAUNCHPAD_URL"] + "/oauth2/v2/auth"
    )
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == f"{stack.gateway.url}/sso/classlink/callback"
    assert query["code_challenge_method"] == "S256"
    stored = LoginState.get(query["state"])
    assert (stored.nonce, stored.return_path, stored.consumed) == (query["nonce"], "/passes", False)
    assert response.headers["Cache-Control"] == "no-store"


def test_launch_refuses_an_open_redirect(stack: LocalStack) -> None:
    assert stack.gateway is not None
    response = requests.get(f"{stack.gateway.url}/sso/classlink/launch?return_to=//evil.example", timeout=5)
    assert response.status_code == 400
    assert "outside SmartPass" in response.text
    assert list(LoginState.scan()) == []


def test_callback_pages_explain_what_happened(stack: LocalStack) -> None:
    assert stack.gateway is not None
    denied = requests.get(f"{stack.gateway.url}/sso/classlink/callback?error=access_denied", timeout=5)
    empty = requests.get(f"{stack.gateway.url}/sso/classlink/callback", timeout=5)
    assert denied.status_code == 403 and "LaunchPad" in denied.text
    assert empty.status_code == 400 and "incomplete" in empty.text
    assert denied.headers["Content-Type"].startswith("text/html")
    assert "Reference:" in denied.text


def _unexpected(*_: object) -> Any:
    raise AssertionError("a poll with no live row connected something")


def test_one_unparsable_partner_row_pauses_nobody(stack: LocalStack) -> None:
    District(tenant_id=TENANT, name="Maple", state=DistrictState.ACTIVE.value).save()
    try:
        ApplicationRow.model_validate({"tenant_id": None, "enabled": "maybe"})
    except ValidationError as bad_row:
        # no live row, so nothing is connected: services that fail if called
        unused = OnboardingServices(dynamo_stores(), "unused/", _unexpected, _unexpected, _unexpected)
        result = reconcile_districts([bad_row], District.scan(), unused, _unexpected)
    assert result.invalid_rows == 1 and result.paused == []
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
