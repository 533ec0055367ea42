"""`--stack NAME`: the CLI finds a deployed stack through CloudFormation (its resources and
outputs) and the worker function's configuration (the environment every function shares), as
in AWS. Here the "deployed" stack is made in moto's CloudFormation and points at the local
stack's tables, so the commands then run against real data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from local_stack.stack import LocalStack
from smartpass_ops.cli import app
from tests.integration.onboarding_helpers import poll

STACK = "smartpass-prod"


@pytest.fixture
def deployed(stack: LocalStack) -> Iterator[dict[str, str]]:
    assert stack.gateway is not None
    iam, cloudformation = stack.client("iam"), stack.client("cloudformation")
    role = iam.create_role(
        RoleName="smartpass-prod-worker",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    template: dict[str, Any] = {
        "Resources": {
            "SyncDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
            "ScheduleDeadLetterQueue": {"Type": "AWS::SQS::Queue"},
            "NightlySyncWorkerFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "nightly_sync.worker.lambda_handler",
                    "Role": role,
                    "Code": {"ZipFile": "# the real code is not needed to read the configuration"},
                    "Environment": {"Variables": dict(stack.environment)},
                },
            },
        },
        "Outputs": {"HttpApiUrl": {"Value": stack.gateway.url}},
    }
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]
    }
    yield resources
    cloudformation.delete_stack(StackName=STACK)
    iam.delete_role(RoleName="smartpass-prod-worker")


def _ops(*args: str) -> Result:
    return CliRunner().invoke(
        app, ["--stack", STACK, "--region", "us-east-1", *args], env={"COLUMNS": "200", "NO_COLOR": "1"}
    )


def test_a_deployed_stack_is_found_by_name_and_its_data_listed(
    stack: LocalStack, deployed: dict[str, str]
) -> None:
    poll(stack)  # the sandbox district, connected and synced
    result = _ops("districts", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert [d["tenant_id"] for d in json.loads(result.stdout)] == ["2001"]
    # The dead-letter queues are the stack's own (from its resources), not the local stack's.
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=deployed["ScheduleDeadLetterQueue"], MessageBody="{}")
    listed = _ops("dlq", "list", "--queue", "schedule", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout)["schedule"]["messages"] == 1


def test_an_unknown_stack_is_said_plainly(stack: LocalStack) -> None:
    result = _ops("districts", "list")
    assert result.exit_code == 2 and "cannot read stack 'smartpass-prod'" in result.stderr


def test_a_profile_that_environment_credentials_would_override_is_refused(stack: LocalStack) -> None:
    result = CliRunner().invoke(app, ["--stack", STACK, "--profile", "prod", "districts", "list"])
    assert result.exit_code == 2 and "AWS_ACCESS_KEY_ID is set" in result.stderr
