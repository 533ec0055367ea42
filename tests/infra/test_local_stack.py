"""The local stack's runtime follows the template: the worker's SQS concurrency, one-at-a-time
for the rest, a context counting down from each function's Timeout, local parameter values and
the `stack` fixture's reset between tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.delivery import SqsSource
from local_stack.functions import LocalFunction, load_functions
from local_stack.stack import ClassLinkEndpoints, LocalStack
from local_stack.template import Resolver, load_template
from tests.conftest import QUEUE_COUNTS, _reset
from tests.infra import local_probe

PROBE = "tests.infra.local_probe"


def _probe_function(handler: str, maximum_concurrency: int | None = None, timeout: int = 5) -> LocalFunction:
    """A function declared as in template.yaml, resolved by the local stack's own loader."""
    queue_event: dict[str, Any] = {"Queue": "arn:aws:sqs:us-east-1:123456789012:probe", "BatchSize": 1}
    if maximum_concurrency is not None:
        queue_event["ScalingConfig"] = {"MaximumConcurrency": maximum_concurrency}
    template = {
        "Resources": {
            "Probe": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": f"{PROBE}.{handler}",
                    "Timeout": timeout,
                    "Events": {"Queue": {"Type": "SQS", "Properties": queue_event}},
                },
            }
        }
    }
    resolver = Resolver(template, "us-east-1", physical={"Probe": {"Ref": "probe"}})
    return load_functions(template, resolver)["Probe"]


@pytest.fixture
def scratch_queue(stack: LocalStack) -> Iterator[str]:
    sqs = stack.client("sqs")
    url: str = sqs.create_queue(QueueName=f"probe-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def _source(stack: LocalStack, function: LocalFunction, url: str) -> SqsSource:
    event = function.events["Queue"]["Properties"]
    limit = event.get("ScalingConfig", {}).get("MaximumConcurrency", 1)
    return SqsSource(function, stack.client("sqs"), url, event["Queue"], 1, True, max_concurrency=limit)


def _send(stack: LocalStack, url: str, count: int) -> None:
    for n in range(count):
        stack.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))


# ------------------------------------------------------------------ concurrency
def test_the_worker_gets_the_templates_sqs_concurrency_and_the_others_run_one_at_a_time(
    stack: LocalStack,
) -> None:
    default = int(load_template()["Parameters"]["SyncWorkerConcurrency"]["Default"])
    assert default == 20
    concurrency = {name: f.max_concurrency for name, f in stack.functions.items()}
    assert concurrency == {
        "InvitationPollFunction": 1,
        "NightlySyncFanoutFunction": 1,
        "NightlySyncWorkerFunction": default,
        "SsoCallbackFunction": 1,
        "OperatorConsoleFunction": 1,
        "DistrictHoldsFunction": 1,
    }
    (worker_source,) = stack.sqs_sources
    assert (worker_source.function.logical_id, worker_source.max_concurrency) == (
        "NightlySyncWorkerFunction",
        default,
    )


def test_sqs_deliveries_run_in_parallel_up_to_maximum_concurrency_each_in_its_own_instance(
    stack: LocalStack, scratch_queue: str
) -> None:
    function = _probe_function("wait_for_peers", maximum_concurrency=3)
    local_probe.SHARED.update(barrier=threading.Barrier(3), lock=threading.Lock(), instances=set())
    _send(stack, scratch_queue, 3)
    source = _source(stack, function, scratch_queue)
    # Each handler waits until three are running at once; one at a time, the first would time out.
    assert source.poll() == 3
    assert (source.deleted, source.failed, source.errors) == (3, 0, [])
    assert function.stats["sqs:ok"] == 3 and function.peak_concurrency == 3
    # Three execution environments, each with module globals of its own (as Lambda's processes).
    assert len(local_probe.SHARED["instances"]) == 3 and function.instances == 3


def test_no_more_than_maximum_concurrency_run_at_once_and_instances_are_reused(
    stack: LocalStack, scratch_queue: str
) -> None:
    function = _probe_function("overlap", maximum_concurrency=2)
    _send(stack, scratch_queue, 7)
    source = _source(stack, function, scratch_queue)
    while source.poll():
        pass
    assert source.deleted == 7 and function.peak_concurrency == 2 and function.instances == 2


def test_a_slow_invocation_does_not_hold_back_the_other_lanes(stack: LocalStack, scratch_queue: str) -> None:
    # As Lambda's pollers do: a lane whose invocation ends takes the next batch at once, rather
    # than the whole round waiting for its slowest invocation.
    function = _probe_function("slow_first", maximum_concurrency=2)
    local_probe.SHARED.update(lock=threading.Lock(), ended=[])
    _send(stack, scratch_queue, 6)
    source = _source(stack, function, scratch_queue)
    assert source.poll() == 6
    ended = local_probe.SHARED["ended"]
    assert len(ended) == 6 and '"n": 0' in ended[-1], ended
    assert function.peak_concurrency == 2


def test_a_function_without_a_concurrency_limit_runs_one_invocation_at_a_time(
    stack: LocalStack, scratch_queue: str
) -> None:
    function = _probe_function("overlap")
    _send(stack, scratch_queue, 3)
    source = _source(stack, function, scratch_queue)
    threads = [threading.Thread(target=source.poll) for _ in range(3)]
    for thread in threads:  # even pollers racing each other do not overlap its invocations
        thread.start()
    for thread in threads:
        thread.join()
    assert source.deleted == 3 and function.peak_concurrency == 1 and function.instances == 1


def test_one_at_a_time_traffic_uses_instance_zero_the_module_in_sys_modules() -> None:
    function = _probe_function("module_globals", maximum_concurrency=4)
    outcomes = [function.invoke({}, kind="test") for _ in range(3)]
    assert {o.result for o in outcomes} == {id(vars(local_probe))}
    assert function.instances == 1


def test_releasing_a_failed_record_that_is_gone_meanwhile_is_a_no_op(
    stack: LocalStack, scratch_queue: str
) -> None:
    function = _probe_function("fail_every_record")
    _send(stack, scratch_queue, 1)
    source = _source(stack, function, scratch_queue)
    assert source.poll() == 1 and source.failed == 1
    (receipt,) = source.in_flight.values()
    stack.client("sqs").delete_message(QueueUrl=scratch_queue, ReceiptHandle=receipt)
    assert source.release_failed() == 0 and source.in_flight == {}


# ------------------------------------------------------------------ context and timeout
def test_each_invocation_gets_a_context_counting_down_from_the_functions_timeout() -> None:
    function = _probe_function("remaining_time", timeout=3)
    before, after = function.invoke({}, kind="test").result
    assert 2800 < before <= 3000 and 150 <= before - after < 1000
    function.timeout_seconds = 9  # what a test may do for itself
    again, _ = function.invoke({}, kind="test").result
    assert 8800 < again <= 9000  # a new context, from the new Timeout
    function.reset()
    assert function.timeout_seconds == function.template_timeout_seconds == 3


def test_a_test_may_change_a_functions_timeout_and_the_reset_puts_the_templates_back(
    stack: LocalStack,
) -> None:
    worker = stack.functions["NightlySyncWorkerFunction"]
    template_timeout = int(load_template()["Resources"]["NightlySyncWorkerFunction"]["Properties"]["Timeout"])
    assert worker.timeout_seconds == template_timeout == 300
    worker.timeout_seconds = 2
    stack.reset_counters()
    assert worker.timeout_seconds == 300


# ------------------------------------------------------------------ parameters
def test_local_backoff_is_short_and_other_parameters_keep_the_template_defaults(stack: LocalStack) -> None:
    assert stack.environment["ONEROSTER_BACKOFF_SECONDS"] == "0.05"
    assert load_template()["Parameters"]["OneRosterBackoffSeconds"]["Default"] == "1"
    endpoints = ClassLinkEndpoints("https://p", "https://o", "https://l", "https://n", "k", "c", "s")
    overridden = LocalStack(endpoints, parameters={"OneRosterBackoffSeconds": "0.3"})._parameters()
    assert overridden["OneRosterBackoffSeconds"] == "0.3"
    assert "SyncWorkerConcurrency" not in overridden  # the template's default applies


# ------------------------------------------------------------------ the stack fixture's reset
def test_the_reset_between_tests_leaves_no_queue_message_counter_fault_timeout_or_cache(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    sqs, secrets = stack.client("sqs"), stack.client("secretsmanager")
    # An in-flight message from a failed delivery (tracked by the source)...
    sqs.send_message(QueueUrl=stack.environment["SYNC_QUEUE_URL"], MessageBody='{"tenant_id": "2001"')
    stack.drain()
    (source,) = stack.sqs_sources
    assert source.failed == 1 and len(source.in_flight) == 1
    # ...one that a test received itself and never deleted...
    missed = stack.ref("ScheduleDeadLetterQueue")
    sqs.send_message(QueueUrl=missed, MessageBody="{}")
    assert sqs.receive_message(QueueUrl=missed)["Messages"]
    # ...a fault, a counter, a changed timeout and a cached secret.
    stack_sandbox.app.faults.add(Fault(kind="http_503", collection="applications", times=5))
    assert stack.invoker is not None
    stack.invoker.failures_sent = 2
    stack.functions["NightlySyncWorkerFunction"].timeout_seconds = 1
    name = f"probe/{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString="first")
    try:
        assert parameters.get_secret(name) == "first"
        secrets.put_secret_value(SecretId=name, SecretString="second")
        assert parameters.get_secret(name) == "first"  # cached, as in a warm Lambda

        _reset(stack, stack_sandbox)

        for url in sqs.list_queues()["QueueUrls"]:
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
            assert set(counts.values()) == {"0"}, url
        assert (source.failed, source.deleted, source.whole_batch_failures) == (0, 0, 0)
        assert source.in_flight == {} and source.errors == []
        assert all(not f.stats and f.peak_concurrency == 0 for f in stack.functions.values())
        assert stack.invoker.failures_sent == 0
        assert stack.functions["NightlySyncWorkerFunction"].timeout_seconds == 300
        assert stack_sandbox.app.faults.describe() == []
        assert parameters.get_secret(name) == "second"
    finally:
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_routes_that_declare_aws_iam_get_the_sigv4_authorizer_and_the_others_none(stack: LocalStack) -> None:
    assert stack.gateway is not None
    guarded = {(r.method, r.path): r.authorizer is not None for r in stack.gateway.routes}
    assert guarded[("GET", "/ops/status")] and guarded[("GET", "/ops/status.json")]
    assert not guarded[("GET", "/district/status")] and not guarded[("GET", "/sso/classlink/launch")]
