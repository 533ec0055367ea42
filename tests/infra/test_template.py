"""Template invariants cfn-lint does not check (style-anchors 3.1), read from template.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.template import function_property, load_template, resources_of_type
from tests.infra.iam import as_list, sam_transform, wildcard_problems

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
QUEUES = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
TABLES = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
TOPICS = resources_of_type(TEMPLATE, "AWS::SNS::Topic")
GLOBAL_ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]


def _events(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (logical, event["Properties"])
        for logical, fn in FUNCTIONS.items()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def _queue_id(ref: Any) -> str:
    return ref["Fn::GetAtt"][0] if isinstance(ref["Fn::GetAtt"], list) else ref["Fn::GetAtt"].split(".")[0]


def test_the_five_handler_packages_are_wired() -> None:
    handlers = {function_property(TEMPLATE, f, "Handler").split(".")[0] for f in FUNCTIONS}
    assert handlers == {
        "invite_handler",
        "nightly_sync",
        "sso_callback",
        "operator_console",
        "district_holds",
    }


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


def test_no_policy_grants_a_wildcard_resource_or_action() -> None:
    """As written; tests/infra/test_iam.py checks the same rule after the SAM transform."""
    roles = resources_of_type(TEMPLATE, "AWS::IAM::Role")
    for logical, fn in FUNCTIONS.items():
        role = fn["Properties"].get("Role")
        if role is not None:  # a role of its own: its inline policy documents
            (name,) = role["Fn::GetAtt"][:1]
            documents = [p["PolicyDocument"] for p in roles[name]["Properties"]["Policies"]]
            policies = [{"Statement": d["Statement"]} for d in documents]
        else:
            policies = fn["Properties"].get("Policies", [])
        assert policies, f"{logical} has no least-privilege policies"
        for policy in policies:
            assert policy != "AWSLambdaExecute" and not isinstance(policy, str), (logical, policy)
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                assert wildcard_problems(statement) == [], (logical, statement.get("Sid"))


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


def test_every_alarm_reaches_the_operators_and_only_them() -> None:
    assert ALARMS
    for logical, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "OperatorTopic"}], logical
        assert props.get("ActionsEnabled", True) is True, logical
        assert props["TreatMissingData"] == "notBreaching", logical


def _alarms_on(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in ALARMS.values()
        if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric
    ]


def test_worker_errors_raise_an_alarm() -> None:
    (alarm,) = [
        a
        for a in _alarms_on("AWS/Lambda", "Errors")
        if a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "NightlySyncWorkerFunction"}}]
    ]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )


def test_an_old_message_on_the_sync_queue_raises_an_alarm_within_the_hour() -> None:
    (alarm,) = [
        a
        for a in _alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage")
        if _queue_id(a["Dimensions"][0]["Value"]) == "SyncQueue"
    ]
    assert alarm["Dimensions"][0]["Name"] == "QueueName"
    assert alarm["Statistic"] == "Maximum" and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert int(alarm["Threshold"]) <= 3600


@pytest.mark.parametrize("metric", ["SyncRunsHeld", "SyncRunsFailed"])
def test_held_and_failed_runs_raise_an_alarm_on_the_workers_powertools_metric(metric: str) -> None:
    # Powertools Metrics publishes under POWERTOOLS_METRICS_NAMESPACE with the one dimension
    # service=POWERTOOLS_SERVICE_NAME; an alarm on any other name or dimension set never fires.
    (alarm,) = _alarms_on(GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"], metric)
    assert GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"] == "SmartPass/ClassLink"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Statistic"], int(alarm["Period"]), int(alarm["EvaluationPeriods"])) == ("Sum", 300, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_sync_worker_concurrency_is_a_bounded_parameter_feeding_the_sqs_event() -> None:
    param = TEMPLATE["Parameters"]["SyncWorkerConcurrency"]
    assert (param["Type"], param["Default"], param["MinValue"], param["MaxValue"]) == ("Number", 20, 2, 1000)
    assert "rate limit" in param["Description"]
    (event,) = [props for logical, props in _events("SQS") if logical == "NightlySyncWorkerFunction"]
    assert event["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "SyncWorkerConcurrency"}


def test_topics_are_encrypted_with_the_rotating_customer_key_not_the_aws_managed_one() -> None:
    (key_id,) = resources_of_type(TEMPLATE, "AWS::KMS::Key")
    assert _props(key_id)["EnableKeyRotation"] is True
    assert set(TOPICS) == {"OperatorTopic", "InvitationEmailTopic"}
    for logical, topic in TOPICS.items():
        key = topic["Properties"]["KmsMasterKeyId"]
        assert key in ({"Fn::GetAtt": [key_id, "Arn"]}, {"Ref": key_id}), logical
        assert "alias/aws/sns" not in str(key)


def _props(logical: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[logical]["Properties"]
    return props


def _service_statements(document: dict[str, Any], service: str) -> list[dict[str, Any]]:
    return [
        s
        for s in document["Statement"]
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": f"{service}.amazonaws.com"}
    ]


def _same_account_only(statement: dict[str, Any]) -> bool:
    return statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_key_policy_lets_cloudwatch_and_ses_encrypt_for_the_topics_from_this_account_only() -> None:
    (key_id,) = resources_of_type(TEMPLATE, "AWS::KMS::Key")
    policy = _props(key_id)["KeyPolicy"]
    for service in ("cloudwatch", "ses"):
        (statement,) = _service_statements(policy, service)
        assert set(as_list(statement["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}, service
        assert _same_account_only(statement), service
    # Administration stays with the account (which also lets IAM policies grant use of the key).
    (admin,) = [s for s in policy["Statement"] if "AWS" in s["Principal"]]
    assert admin["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    # Nobody else: every other statement names one of the two services.
    assert len(policy["Statement"]) == 3


def test_topic_policies_let_cloudwatch_publish_to_operators_and_ses_to_the_invitation_topic() -> None:
    policies = {
        tuple(str(t["Ref"]) for t in p["Properties"]["Topics"]): p["Properties"]["PolicyDocument"]
        for p in resources_of_type(TEMPLATE, "AWS::SNS::TopicPolicy").values()
    }
    assert set(policies) == {("OperatorTopic",), ("InvitationEmailTopic",)}
    for topic, service in (("OperatorTopic", "cloudwatch"), ("InvitationEmailTopic", "ses")):
        document = policies[(topic,)]
        (statement,) = _service_statements(document, service)
        assert as_list(statement["Action"]) == ["sns:Publish"]
        assert statement["Resource"] == {"Ref": topic}
        assert _same_account_only(statement), topic
        assert len(document["Statement"]) == 1, topic


def test_secrets_reach_functions_only_as_secrets_manager_ids() -> None:
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    secrets = set(resources_of_type(TEMPLATE, "AWS::SecretsManager::Secret"))
    secret_vars = {name: value for name, value in env.items() if name.endswith("_SECRET_ID")}
    assert len(secret_vars) == len(secrets) == 4
    assert {value["Ref"] for value in secret_vars.values()} == secrets
    assert not any(
        word in p.lower() for p in TEMPLATE["Parameters"] for word in ("secret", "password", "apikey")
    )


def test_schedules_are_named_per_stack_so_two_stages_in_one_account_do_not_collide() -> None:
    names = [props["Name"] for _, props in _events("ScheduleV2")]
    assert len(names) == 2 and all("${AWS::StackName}" in name["Fn::Sub"] for name in names)
    assert len({name["Fn::Sub"] for name in names}) == 2


def test_nightly_cron_runs_outside_the_hours_daylight_saving_skips_or_repeats() -> None:
    cron = TEMPLATE["Parameters"]["NightlySyncCron"]["Default"]
    minute, hour = cron.removeprefix("cron(").split()[:2]
    assert hour.isdigit() and int(hour) not in (1, 2), cron  # 01:00-03:00 local: DST changes
    assert minute.isdigit()


def test_the_poll_and_the_fanout_run_one_at_a_time() -> None:
    for logical in ("InvitationPollFunction", "NightlySyncFanoutFunction"):
        assert FUNCTIONS[logical]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_the_poll_runs_often_enough_to_connect_a_district_within_two_minutes() -> None:
    assert TEMPLATE["Parameters"]["InvitationPollRate"]["Default"] == "rate(1 minute)"


def test_only_the_apps_origin_may_exchange_a_login_code_from_a_browser() -> None:
    cors = RESOURCES["HttpApi"]["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Ref": "SmartPassAppOrigin"}]
    assert cors["AllowCredentials"] is True  # the code's cookie goes with the app's exchange
    assert "POST" in cors["AllowMethods"] and "content-type" in cors["AllowHeaders"]
    assert "*" not in str(cors)


def test_every_route_has_a_throttle_and_sign_in_has_the_most_room() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    routes = {f"{props['Method']} {props['Path']}" for _, props in _events("HttpApi")}
    limits = dict.fromkeys(routes, api["DefaultRouteSettings"]) | api["RouteSettings"]
    assert set(api["RouteSettings"]) <= routes  # no setting for a route that does not exist
    sign_in = ["GET /sso/classlink/launch", "GET /sso/classlink/callback", "POST /sso/session"]
    # the morning peak the fleet plans for: 2,000 sign-ins a second (docs/security.md)
    assert min(limits[r]["ThrottlingRateLimit"] for r in sign_in) >= 2000
    others = [r for r in routes if r not in sign_in]
    assert max(limits[r]["ThrottlingRateLimit"] for r in others) < 500
    assert limits["GET /district/status"]["ThrottlingRateLimit"] <= 5  # open to the internet
    sso = RESOURCES["SsoCallbackFunction"]["Properties"]
    assert sso["Timeout"] < 30  # the HTTP API gives up on an integration at 30 s


def test_operator_routes_need_iam_signatures_and_the_district_page_is_open() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    assert api["Auth"] == {"EnableIamAuthorizer": True}  # no default: other routes stay open
    routes = {props["Path"]: props for _, props in _events("HttpApi")}
    assert {"/ops/status", "/ops/status.json", "/district/status"} <= set(routes)
    for path, props in routes.items():
        expected = {"Authorizer": "AWS_IAM"} if path.startswith("/ops/") else None
        assert props.get("Auth") == expected, path


def test_a_token_endpoint_refusing_our_client_raises_an_alarm_within_a_minute() -> None:
    # the SSO function counts invalid_client as SsoClientRejected: every sign-in fails until fixed
    (alarm,) = _alarms_on(GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"], "SsoClientRejected")
    assert alarm["Dimensions"] == [{"Name": "service", "Value": GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Statistic"], int(alarm["Period"]), alarm["Threshold"]) == ("Sum", 60, 0)
    assert alarm["AlarmActions"] == [{"Ref": "OperatorTopic"}]


def test_the_sso_function_runs_from_a_snapstart_snapshot_through_its_alias() -> None:
    """The cold start decided (docs/decisions.md): SnapStart on published versions, and every SSO
    route of the HTTP API invokes the alias (an unpublished $LATEST has no snapshot)."""
    props = RESOURCES["SsoCallbackFunction"]["Properties"]
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"} and props["AutoPublishAlias"] == "live"
    transformed = sam_transform(TEMPLATE)
    (api,) = [r for r in transformed["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    routes = {
        (path, method): spec["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path, methods in api["Properties"]["Body"]["paths"].items()
        for method, spec in methods.items()
        if path.startswith(("/sso", "/.well-known"))
    }
    assert len(routes) == 4 and all("${SsoCallbackFunctionAliaslive}" in uri for uri in routes.values())
