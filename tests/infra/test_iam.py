"""IAM as deployed: template.yaml after the SAM transform (offline, tests/infra/iam.py), where
policy templates have become the statements the functions' roles really get."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from local_stack.template import load_template, resources_of_type
from tests.infra.iam import (
    action_problem,
    allows,
    as_list,
    identity_statements,
    references,
    resource_problem,
    sam_transform,
    wildcard_problems,
)

TEMPLATE = load_template()
TRANSFORMED = sam_transform(TEMPLATE)
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
ROSTER_TABLES = sorted(
    t for t in resources_of_type(TEMPLATE, "AWS::DynamoDB::Table") if t.startswith("Roster")
)
# What SAM attaches by itself: logs, X-Ray (Tracing: Active) and the SQS event source mapping's
# poller rights. The last two use Resource "*" (X-Ray has no resource-level permissions; SAM's
# SQS policy is account-wide), which only a hand-written role per function would avoid.
SAM_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}
# What the sync calls on a roster table: what we hold (projected Query), creates (batches),
# changes and soft deactivations (UpdateItem). Never DeleteItem.
WORKER_ROSTER_ACTIONS = {
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
}


def _statements_on(transformed: dict[str, Any], logical_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (owner, statement)
        for owner, statement in identity_statements(transformed)
        if logical_id in references(statement.get("Resource", []))
    ]


def _roster_delete_grants(transformed: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (owner, table)
        for table in ROSTER_TABLES
        for owner, statement in _statements_on(transformed, table)
        if allows(statement, "dynamodb:DeleteItem")
    ]


def _wildcard_grants(transformed: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (owner, problem)
        for owner, statement in identity_statements(transformed)
        for problem in wildcard_problems(statement)
    ]


def test_the_transform_gives_every_function_a_role_with_inline_policies() -> None:
    roles = resources_of_type(TRANSFORMED, "AWS::IAM::Role")
    for logical in FUNCTIONS:
        assert roles[f"{logical}Role"]["Properties"]["Policies"], logical
    assert ROSTER_TABLES == [
        "RosterClassesTable",
        "RosterEnrollmentsTable",
        "RosterOrgsTable",
        "RosterTermsTable",
        "RosterUsersTable",
    ]


def test_no_identity_policy_grants_a_wildcard_action_or_resource_after_the_transform() -> None:
    assert _wildcard_grants(TRANSFORMED) == []


def test_sqs_send_message_policy_expands_to_a_verb_wildcard_which_the_rule_accepts() -> None:
    actions = {a for _, s in identity_statements(TRANSFORMED) for a in as_list(s["Action"])}
    assert "sqs:SendMessage*" in actions  # SAM's SQSSendMessagePolicy
    assert action_problem("sqs:SendMessage*") is None


@pytest.mark.parametrize(
    ("action", "bad"),
    [
        ("*", True),
        ("sqs:*", True),
        ("sqs:?*", True),
        ("*:SendMessage", True),
        ("dynamodb", True),
        ("sqs:SendMessage*", False),
        ("kms:GenerateDataKey*", False),
        ("dynamodb:GetItem", False),
    ],
)
def test_wildcard_rule_on_actions(action: str, bad: bool) -> None:
    assert (action_problem(action) is not None) is bad


@pytest.mark.parametrize(
    ("resource", "bad"),
    [
        ("*", True),
        ({"Fn::Sub": "*"}, True),
        ("arn:aws:sqs:us-east-1:123456789012:*", True),
        ({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:*"}, True),
        ({"Fn::Sub": "${RosterUsersTable.Arn}/index/by_classlink_user_id"}, False),
        ({"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:1:secret:smartpass/*"}, False),
        ({"Fn::GetAtt": ["SyncQueue", "Arn"]}, False),
    ],
)
def test_wildcard_rule_on_resources(resource: Any, bad: bool) -> None:
    assert (resource_problem(resource) is not None) is bad


def test_a_deny_statement_may_use_wildcards_and_not_action_is_refused() -> None:
    assert wildcard_problems({"Effect": "Deny", "Action": "*", "Resource": "*"}) == []
    assert wildcard_problems({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}) != []


def _arn(value: Any) -> str:
    """A managed policy's ARN, written plainly or as `!Sub arn:${AWS::Partition}:...`."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return str(text).replace("${AWS::Partition}", "aws")


def test_roles_carry_only_the_managed_policies_sam_attaches_itself() -> None:
    for logical, role in resources_of_type(TRANSFORMED, "AWS::IAM::Role").items():
        arns = {_arn(a) for a in role["Properties"].get("ManagedPolicyArns", [])}
        assert arns <= SAM_MANAGED_POLICIES, logical


def test_no_role_may_receive_from_or_delete_on_every_queue() -> None:
    """The managed AWSLambdaSQSQueueExecutionRole that SAM attaches for an SQS event grants
    receive and delete on every queue: the worker has a role of its own, scoped to its queue."""
    for logical, role in resources_of_type(TRANSFORMED, "AWS::IAM::Role").items():
        arns = {_arn(a) for a in role["Properties"].get("ManagedPolicyArns", [])}
        assert "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole" not in arns, logical
    assert resources_of_type(TRANSFORMED, "AWS::IAM::ManagedPolicy") == {}


def test_no_roster_table_is_granted_delete_item() -> None:
    assert _roster_delete_grants(TRANSFORMED) == []
    for table in ROSTER_TABLES:
        for owner, statement in _statements_on(TRANSFORMED, table):
            assert all(a.startswith("dynamodb:") and "*" not in a for a in as_list(statement["Action"])), (
                owner,
                table,
            )


def test_the_worker_keeps_every_roster_write_but_delete_and_the_sso_function_only_reads_and_updates() -> None:
    worker = {
        table: {
            a
            for owner, s in _statements_on(TRANSFORMED, table)
            if owner == "NightlySyncWorkerFunctionRole"
            for a in as_list(s["Action"])
        }
        for table in ROSTER_TABLES
    }
    assert worker == dict.fromkeys(ROSTER_TABLES, WORKER_ROSTER_ACTIONS)
    sso = [
        s
        for owner, s in _statements_on(TRANSFORMED, "RosterUsersTable")
        if owner == "SsoCallbackFunctionRole"
    ]
    assert sorted(sorted(as_list(s["Action"])) for s in sso) == [
        ["dynamodb:BatchGetItem"],  # the user, with the district
        ["dynamodb:Query"],  # by ClassLink UserId, on the index only
        ["dynamodb:UpdateItem"],  # the sign-in recorded
    ]
    (update,) = [s for s in sso if as_list(s["Action"]) == ["dynamodb:UpdateItem"]]
    # Only the ClassLink UserId and the login time (with the key), and no other attribute returned.
    assert update["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"] == [
        "tenant_id",
        "sourced_id",
        "classlink_user_id",
        "last_login_at",
    ]
    assert "ALL_NEW" not in update["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"]
    (query,) = [s for s in sso if as_list(s["Action"]) == ["dynamodb:Query"]]
    assert query["Resource"] == {"Fn::Sub": "${RosterUsersTable.Arn}/index/by_classlink_user_id"}
    for table in ROSTER_TABLES:
        if table != "RosterUsersTable":
            assert [o for o, _ in _statements_on(TRANSFORMED, table) if o == "SsoCallbackFunctionRole"] == []


def test_the_rules_catch_a_crud_policy_on_a_roster_table_and_a_service_wildcard() -> None:
    """The two checks above, shown failing on a template that breaks them."""
    broken = copy.deepcopy(TEMPLATE)
    broken["Resources"]["SsoCallbackFunction"]["Properties"]["Policies"] += [
        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "RosterTermsTable"}}},
        {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]},
    ]
    transformed = sam_transform(broken)
    assert _roster_delete_grants(transformed) == [("SsoCallbackFunctionRole", "RosterTermsTable")]
    assert sorted(_wildcard_grants(transformed)) == [
        ("SsoCallbackFunctionRole", "action 'sqs:*' is every action of sqs"),
        ("SsoCallbackFunctionRole", "resource '*'"),
    ]


def test_functions_that_publish_to_the_operator_topic_may_use_its_key_and_only_that_key() -> None:
    publishers = {
        owner for owner, s in _statements_on(TRANSFORMED, "OperatorTopic") if allows(s, "sns:Publish")
    }
    assert publishers == {"InvitationPollFunctionRole", "NightlySyncWorkerFunctionRole"}
    for role in publishers:
        key_statements = [
            s
            for owner, s in identity_statements(TRANSFORMED)
            if owner == role and any(a.startswith("kms:") for a in as_list(s["Action"]))
        ]
        assert len(key_statements) == 1, role
        (statement,) = key_statements
        assert set(as_list(statement["Action"])) == {"kms:GenerateDataKey", "kms:Decrypt"}
        assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["NotificationTopicKey", "Arn"]}]


def test_the_operator_console_only_reads_and_only_what_its_pages_show() -> None:
    statements = [
        s for owner, s in identity_statements(TRANSFORMED) if owner == "OperatorConsoleFunctionRole"
    ]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "ssm:GetParameter",  # the district link keys' public halves: it reads no private key
    }
    resources = set().union(*(references(s["Resource"]) for s in statements))
    assert resources == {"DistrictsTable", "SyncRunsTable", "DistrictLinkPublicKeysParameter"}


@pytest.mark.parametrize(
    ("secret", "reader"),
    [
        ("SessionSigningKeySecret", "SsoCallbackFunctionRole"),
        ("DistrictLinkSigningKeySecret", "NightlySyncWorkerFunctionRole"),
    ],
)
def test_each_private_key_is_readable_only_by_the_function_that_signs_with_it(
    secret: str, reader: str
) -> None:
    """Security review finding 2: sessions and district links are signed with separate keys, and
    no function that only verifies can read either."""
    readers = {
        owner
        for owner, s in identity_statements(TRANSFORMED)
        if "secretsmanager:GetSecretValue" in as_list(s["Action"]) and secret in references(s["Resource"])
    }
    assert readers == {reader}


# Every grant of every function's role after the SAM transform, each one an action the function's
# code calls on that resource (security review: "IAM actions exactly what the code calls"). A
# grant not listed here, or one listed and gone, fails the test below. Not listed: the managed
# policies SAM attaches itself (basic execution, X-Ray, and the SQS event's queue execution role,
# which docs/security.md names as still too wide). "Stage" marks a resource named by the stage
# (the district connection secrets, `smartpass/<stage>/districts/*`).
ALLOWED_GRANTS: dict[str, set[tuple[str, str]]] = {
    "InvitationPollFunctionRole": {
        ("dynamodb:Scan", "DistrictsTable"),  # every district, to reconcile with the Partner API
        ("dynamodb:GetItem", "DistrictsTable"),  # a district read back after a change
        ("dynamodb:PutItem", "DistrictsTable"),  # a new district (conditional)
        ("dynamodb:UpdateItem", "DistrictsTable"),  # state, connection, name
        ("dynamodb:PutItem", "DistrictHistoryTable"),  # history is appended only
        ("dynamodb:GetItem", "SyncRunsTable"),  # did the queued onboarding sync run
        ("secretsmanager:GetSecretValue", "PartnerApiKeySecret"),
        ("secretsmanager:CreateSecret", "Stage"),  # a district's connection, created once
        ("secretsmanager:PutSecretValue", "Stage"),  # ...and replaced
        ("secretsmanager:TagResource", "Stage"),  # CreateSecret with tags
        ("sqs:SendMessage*", "SyncQueue"),
        ("sqs:SendMessage", "ScheduleDeadLetterQueue"),  # its own failed ticks (EventInvokeConfig)
        ("sns:Publish", "OperatorTopic"),
        ("kms:GenerateDataKey", "NotificationTopicKey"),
        ("kms:Decrypt", "NotificationTopicKey"),
    },
    "NightlySyncFanoutFunctionRole": {
        ("dynamodb:Scan", "DistrictsTable"),
        ("sqs:SendMessage*", "SyncQueue"),
        ("sqs:SendMessage", "ScheduleDeadLetterQueue"),
    },
    "NightlySyncWorkerFunctionRole": {
        ("dynamodb:GetItem", "DistrictsTable"),
        ("dynamodb:UpdateItem", "DistrictsTable"),  # state, lease, last run
        ("dynamodb:PutItem", "DistrictHistoryTable"),
        ("dynamodb:PutItem", "SyncRunsTable"),  # a run opened (conditional)
        ("dynamodb:GetItem", "SyncRunsTable"),
        ("dynamodb:UpdateItem", "SyncRunsTable"),
        ("dynamodb:Query", "SyncProgressTable"),
        ("dynamodb:BatchWriteItem", "SyncProgressTable"),  # parts saved and deleted
        *{(action, table) for table in ROSTER_TABLES for action in WORKER_ROSTER_ACTIONS},
        *{(f"dynamodb:{a}", "IdempotencyTable") for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")},
        ("secretsmanager:GetSecretValue", "Stage"),  # the districts' connections
        ("secretsmanager:GetSecretValue", "DistrictLinkSigningKeySecret"),
        ("secretsmanager:GetSecretValue", "PartnerApiKeySecret"),  # a 401: is the bearer rotated?
        ("ssm:GetParameter", "DistrictLinkPublicKeysParameter"),
        ("ssm:PutParameter", "DistrictLinkPublicKeysParameter"),
        # its own queue only (a role of its own, not SAM's SQS execution role): read and deleted by
        # the event source mapping, continuations and waits sent back to it
        *{
            (f"sqs:{a}", "SyncQueue")
            for a in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")
        },
        ("sqs:SendMessage", "SyncQueue"),
        ("sns:Publish", "OperatorTopic"),
        ("kms:GenerateDataKey", "NotificationTopicKey"),
        ("kms:Decrypt", "NotificationTopicKey"),
        ("ses:SendEmail", "ses-identity"),  # the report to a district contact
    },
    "SsoCallbackFunctionRole": {
        ("dynamodb:BatchGetItem", "DistrictsTable"),  # the district and the user in one request
        ("dynamodb:BatchGetItem", "RosterUsersTable"),
        ("dynamodb:GetItem", "DistrictsTable"),  # when my/info names no SourcedId
        ("dynamodb:Query", "RosterUsersTable"),  # the by_classlink_user_id index only
        ("dynamodb:UpdateItem", "RosterUsersTable"),  # the ClassLink UserId and login time
        ("dynamodb:PutItem", "LoginStatesTable"),
        ("dynamodb:UpdateItem", "LoginStatesTable"),
        ("dynamodb:PutItem", "LoginCodesTable"),
        ("dynamodb:GetItem", "LoginCodesTable"),
        ("dynamodb:UpdateItem", "LoginCodesTable"),
        ("secretsmanager:GetSecretValue", "SsoClientSecret"),
        ("secretsmanager:GetSecretValue", "SessionSigningKeySecret"),
        # the session keys' public halves, published for the district holds page
        ("ssm:GetParameter", "SessionPublicKeysParameter"),
        ("ssm:PutParameter", "SessionPublicKeysParameter"),
    },
    "OperatorConsoleFunctionRole": {
        ("dynamodb:Scan", "DistrictsTable"),
        ("dynamodb:GetItem", "DistrictsTable"),
        ("dynamodb:Query", "SyncRunsTable"),
        ("ssm:GetParameter", "DistrictLinkPublicKeysParameter"),
    },
    "DistrictHoldsFunctionRole": {
        ("dynamodb:GetItem", "DistrictsTable"),  # the session's district
        ("dynamodb:UpdateItem", "DistrictsTable"),  # its lease while an approval applies; state
        ("dynamodb:PutItem", "DistrictHistoryTable"),  # every decision, appended
        ("dynamodb:GetItem", "SyncRunsTable"),
        ("dynamodb:Query", "SyncRunsTable"),  # the district's held runs, later runs
        ("dynamodb:UpdateItem", "SyncRunsTable"),  # claimed, decided
        ("dynamodb:Query", "SyncProgressTable"),  # the held deactivations
        ("dynamodb:BatchWriteItem", "SyncProgressTable"),  # ...dropped once decided
        ("dynamodb:GetItem", "RosterUsersTable"),  # the administrator, read again each request
        ("dynamodb:BatchGetItem", "RosterOrgsTable"),  # ...and whether the district is among their orgs
        *{("dynamodb:UpdateItem", table) for table in ROSTER_TABLES},  # approved soft deactivations
        ("ssm:GetParameter", "SessionPublicKeysParameter"),  # verifies sessions, signs nothing
    },
}


def _grants(transformed: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for owner, statement in identity_statements(transformed):
        if not owner.endswith("FunctionRole"):
            continue  # the schedules' own roles (invoke the function, its DLQ)
        targets = references(statement["Resource"]) or {"ses-identity"}
        for action in as_list(statement["Action"]):
            found.setdefault(owner, set()).update((action, target) for target in targets)
    return found


def test_every_grant_is_one_the_functions_code_calls_and_no_more() -> None:
    assert _grants(TRANSFORMED) == ALLOWED_GRANTS


def test_the_grant_list_catches_a_crud_policy_added_back() -> None:
    template = copy.deepcopy(TEMPLATE)
    policies = template["Resources"]["OperatorConsoleFunction"]["Properties"]["Policies"]
    policies.append({"DynamoDBCrudPolicy": {"TableName": {"Ref": "DistrictHistoryTable"}}})
    assert _grants(sam_transform(template)) != ALLOWED_GRANTS
