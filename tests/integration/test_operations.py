"""The operations domain (smartpass.operations) on the local stack, below the CLI: what it
reads, and how an operator's actions meet the poll and the worker."""

from __future__ import annotations

from typing import Any

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.stores import dynamo_stores
from smartpass.data.sync_runs import SyncRun
from smartpass.operations.district_admin import change_settings, pause_district, resume_district
from smartpass.operations.manual_sync import run_progress, start_manual_sync
from smartpass.operations.overview import district_detail, list_districts
from smartpass.settings import get_settings
from smartpass_aws.onboarding_services import build_services
from tests.integration.onboarding_helpers import changed, history, poll
from tests.integration.sync_helpers import TENANT, connect_district


def _queue(stack: LocalStack) -> tuple[str, Any]:
    return stack.environment["SYNC_QUEUE_URL"], stack.client("sqs")


def test_a_district_paused_by_the_poll_and_then_by_an_operator_stays_paused(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    with changed(stack_sandbox, int(TENANT), {"op": "disable_sharing"}, {"op": "enable_sharing"}):
        assert poll(stack)["paused"] == [TENANT]
        assert District.get(TENANT).paused_by is None  # the poll's pause
        pause_district(dynamo_stores(), TENANT, "alice", "the district's contract is under review")
    # Sharing is on again: the poll would resume its own pause, but this one is the operator's.
    result = poll(stack)
    assert result["resumed"] == [] and result["connected"] == []
    assert District.get(TENANT).state == DistrictState.PAUSED.value

    outcome = resume_district(TENANT, "bob", build_services(get_settings(), lambda: 60.0))
    assert outcome.state == DistrictState.CONNECTING.value and outcome.queued_run_id
    stack.drain(timeout_seconds=120)
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    run = SyncRun.get(TENANT, outcome.queued_run_id)
    assert (run.kind, run.trigger, run.state) == ("manual", "sharing-resumed", "succeeded")
    actors = [(e.kind, e.actor) for e in history(TENANT)]
    assert actors.index(("paused", "classlink-poll")) < actors.index(("paused", "operator:alice"))
    assert ("resumed", "operator:bob") in actors


def test_progress_of_a_manual_sync_from_queued_to_its_end(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    connect_district(stack, stack_sandbox, state=DistrictState.ACTIVE.value)
    change_settings(dynamo_stores(), TENANT, "carol", collections=["orgs", "users"])
    run_id = start_manual_sync(dynamo_stores(), TENANT, "carol", *_queue(stack))

    queued = run_progress(dynamo_stores(), TENANT, run_id)
    assert (queued.state, queued.ended, queued.done, queued.run) == ("queued", False, 0.0, None)
    assert queued.collections == ("orgs", "users")  # the district's settings, in pull order

    stack.drain(timeout_seconds=120)
    ended = run_progress(dynamo_stores(), TENANT, run_id)
    assert (ended.state, ended.ended, ended.done) == ("succeeded", True, 2.0)
    assert ended.run is not None and set(ended.run.by_collection) == {"orgs", "users"}
    assert ended.counts.created == ended.run.counts.created > 0


def test_the_overview_lists_by_name_and_shows_a_district_without_runs(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    connect_district(stack, stack_sandbox)
    District(tenant_id="0042", name="Aardvark Unified").save()
    listed = list_districts(dynamo_stores())
    assert [d.tenant_id for d in listed] == ["0042", TENANT]  # "Aardvark" before "Maple"
    assert listed[0].last_run is None and listed[0].state == DistrictState.CONNECTING.value
    detail = district_detail(dynamo_stores(), "0042")
    assert (detail.runs, detail.history) == ((), ())
    assert detail.settings.threshold_percent == 10 and detail.settings.threshold_minimum == 50
