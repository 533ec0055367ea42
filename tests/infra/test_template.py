"""Template invariants cfn-lint does not check (style-anchors 3.1), read from template.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.template import function_property, load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
QUEUES = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
TABLES = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")


def _events(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical, event["Properties"])
        for logical, fn in FUNCTIONS.items()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def _queue_id(ref: Any) -> str:
    return ref["Fn::GetAtt"][0] if isinstance(ref["Fn::GetAtt"], list) else ref["Fn::GetAtt"].split(".")[0]


def test_the_three_handler_packages_are_wired() -> None:
    handlers = {function_property(TEMPLATE, f, "Handler").split(".")[0] for f in FUNCTIONS}
    assert handlers == {"invite_handler", "nightly_sync", "sso_callback"}


def test_one_code_uri_for_every_function_and_it_is_the_functions_folder() -> None:
    assert TEMPLATE["Globals"]["Function"]["CodeUri"] == "functions/"
    assert all("CodeUri" not in f["Properties"] for f in FUNCTIONS.values())


def test_runtime_is_python_313_on_arm64() -> None:
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.13"
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == ["arm64"]


def test_every_sqs_event_reports_batch_item_failures() -> None:
    assert _events("SQS"), "the worker must be fed by SQS"
    for logical, props in _events("SQS"):
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], logical


def test_every_queue_that_feeds_a_function_has_a_redrive_to_a_dlq() -> None:
    for _, props in _events("SQS"):
        queue = QUEUES[_queue_id(props["Queue"])]["Properties"]
        redrive = queue["RedrivePolicy"]
        assert _queue_id(redrive["deadLetterTargetArn"]) in QUEUES
        assert 1 <= int(redrive["maxReceiveCount"]) <= 5


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout() -> None:
    for logical, props in _events("SQS"):
        timeout = int(function_property(TEMPLATE, logical, "Timeout"))
        visibility = int(QUEUES[_queue_id(props["Queue"])]["Properties"]["VisibilityTimeout"])
        assert visibility >= 6 * timeout, (logical, timeout, visibility)


def test_no_function_uses_a_lambda_dlq_on_an_sqs_source() -> None:
    for logical, _ in _events("SQS"):
        assert "DeadLetterQueue" not in FUNCTIONS[logical]["Properties"]


def test_schedules_have_timezone_retry_policy_dlq_and_a_stable_run_key() -> None:
    schedules = _events("ScheduleV2")
    assert len(schedules) == 2
    for logical, props in schedules:
        assert props["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimezone"}, logical
        assert int(props["RetryPolicy"]["MaximumRetryAttempts"]) >= 1
        assert _queue_id(props["DeadLetterConfig"]["Arn"]) in QUEUES
        assert "<aws.scheduler.scheduled-time>" in props["Input"]


def test_asynchronously_invoked_functions_send_exhausted_failures_to_a_watched_queue() -> None:
    async_functions = {logical for kind in ("ScheduleV2", "SNS") for logical, _ in _events(kind)}
    assert async_functions == {"InvitationPollFunction", "NightlySyncFanoutFunction"}
    for logical in async_functions:
        config = FUNCTIONS[logical]["Properties"]["EventInvokeConfig"]
        assert 0 < int(config["MaximumRetryAttempts"]) <= 2
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert (
            on_failure["Type"] == "SQS" and _queue_id(on_failure["Destination"]) == "ScheduleDeadLetterQueue"
        )


def _policy_resources(policy: Any) -> list[Any]:
    if isinstance(policy, dict) and "Statement" in policy:
        return [s.get("Resource") for s in policy["Statement"]]
    return []


def test_no_policy_grants_a_wildcard_resource_or_action() -> None:
    for logical, fn in FUNCTIONS.items():
        policies = fn["Properties"].get("Policies", [])
        assert policies, f"{logical} has no least-privilege policies"
        for policy in policies:
            assert policy != "AWSLambdaExecute" and not isinstance(policy, str), (logical, policy)
            for resource in _policy_resources(policy):
                for item in resource if isinstance(resource, list) else [resource]:
                    assert item != "*", logical
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert all(not a.endswith(":*") and a != "*" for a in actions), logical


def test_every_function_has_a_log_group_with_retention() -> None:
    groups = resources_of_type(TEMPLATE, "AWS::Logs::LogGroup")
    named = {
        str(g["Properties"]["LogGroupName"]): g["Properties"]
        for g in groups.values()
        if "LogGroupName" in g["Properties"]
    }
    for logical in FUNCTIONS:
        matching = [props for name, props in named.items() if f"${{{logical}}}" in name]
        assert matching, f"{logical} has no log group"
        assert "RetentionInDays" in matching[0]


@pytest.mark.parametrize("logical", sorted(TABLES))
def test_tables_have_pitr_encryption_parameterised_deletion_protection(logical: str) -> None:
    props = TABLES[logical]["Properties"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_short_lived_tables_expire_by_ttl() -> None:
    for logical in ("LoginStatesTable", "LoginCodesTable", "IdempotencyTable"):
        assert TABLES[logical]["Properties"]["TimeToLiveSpecification"]["Enabled"] is True


def test_dead_letter_queues_raise_an_alarm_to_the_operator_topic() -> None:
    alarms = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm").values()
    watched = {
        _queue_id(d["Value"])
        for a in alarms
        for d in a["Properties"].get("Dimensions", [])
        if isinstance(d["Value"], dict) and "Fn::GetAtt" in d["Value"]
    }
    dlqs = {
        _queue_id(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in QUEUES.values()
        if "RedrivePolicy" in q["Properties"]
    }
    assert dlqs | {"ScheduleDeadLetterQueue"} <= watched
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "OperatorTopic"}] for a in alarms)


def test_secrets_reach_functions_only_as_secrets_manager_ids() -> None:
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    secrets = set(resources_of_type(TEMPLATE, "AWS::SecretsManager::Secret"))
    secret_vars = {name: value for name, value in env.items() if name.endswith("_SECRET_ID")}
    assert len(secret_vars) == len(secrets) == 3
    assert {value["Ref"] for value in secret_vars.values()} == secrets
    assert not any(
        word in p.lower() for p in TEMPLATE["Parameters"] for word in ("secret", "password", "apikey")
    )
