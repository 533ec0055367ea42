"""Fault survival: DynamoDB throttling, answered at the SDK in DynamoDB's place (botocore's
`before-send`), so botocore's retries, PynamoDB's resending of unprocessed items and the worker
all meet it as they would in AWS. Sporadic throttling is absorbed by the retries; throttling that
outlasts them fails the message, and the redelivered piece completes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from tests.integration.fault_helpers import (
    SdkFaults,
    assert_invariants,
    dynamodb_faults,
    record,
    redeliver,
    runs,
)
from tests.integration.sync_helpers import connect_district, sync
from tests.integration.test_sync import ROSTER_TABLES

FAMILY = "DynamoDB throttling"


def _roster_tables(stack: LocalStack) -> set[str]:
    return {stack.environment[name] for name in ROSTER_TABLES}


@pytest.mark.parametrize(
    "kind", ["ProvisionedThroughputExceededException", "ThrottlingException", "UnprocessedItems"]
)
def test_sporadic_throttling_is_absorbed_by_the_retries(
    stack: LocalStack, stack_sandbox: SandboxServer, record_property: Callable[[str, object], None], kind: str
) -> None:
    connect_district(stack, stack_sandbox)
    with dynamodb_faults(SdkFaults(_roster_tables(stack), kind, every=3)) as faults:
        sync(stack, kind="initial", trigger="invitation")
    [run] = runs()
    assert faults.injected >= 3
    assert run.state == "succeeded", run.error
    assert stack.sqs_sources[0].failed == 0  # absorbed inside the invocation
    checks = assert_invariants(stack_sandbox)
    record(record_property, FAMILY, f"{kind} on every 3rd roster write", "completed (SDK retries)", checks)


def test_throttling_that_outlasts_the_retries_fails_the_message_and_the_redelivery_completes(
    stack: LocalStack, stack_sandbox: SandboxServer, record_property: Callable[[str, object], None]
) -> None:
    connect_district(stack, stack_sandbox)
    with dynamodb_faults(SdkFaults(_roster_tables(stack), "ThrottlingException")) as faults:
        sync(stack, kind="initial", trigger="invitation")
        assert runs()[0].state == "running" and stack.sqs_sources[0].failed == 1
        faults.active = False  # the table's capacity catches up
        redeliver(stack)
    [run] = runs()
    assert run.state == "succeeded", run.error
    checks = assert_invariants(stack_sandbox)
    outcome = "message failed after the SDK's retries; completed on redelivery"
    record(record_property, FAMILY, "ThrottlingException on every roster write", outcome, checks)
