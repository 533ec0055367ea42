"""The scripted pass of `--once`: one event of each kind through the real handlers, checked.

It is what CI and a person checking an install run: every table and queue exists, a schedule
tick polls the sandbox's Partner API, an SNS nudge reaches the same handler, the nightly tick
fans out, an SQS sync request reaches the worker and leaves a SyncRun, and HTTP requests
reach the SSO routes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests

from local_stack.stack import LocalStack


def run_once(stack: LocalStack) -> dict[str, Any]:
    checks: dict[str, bool] = {}
    dynamodb, sqs, sns = stack.client("dynamodb"), stack.client("sqs"), stack.client("sns")

    tables = sorted(dynamodb.list_tables()["TableNames"])
    queue_urls = sqs.list_queues().get("QueueUrls", [])
    declared = {
        kind: sorted(stack.ref(logical) for logical, k in stack.created.items() if k == kind)
        for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue")
    }
    checks["every template table exists"] = declared["AWS::DynamoDB::Table"] == tables
    checks["every template queue exists"] = set(declared["AWS::SQS::Queue"]) <= set(queue_urls)

    kms = stack.client("kms")
    topics = [stack.ref(logical) for logical, k in stack.created.items() if k == "AWS::SNS::Topic"]
    topic_attributes = [sns.get_topic_attributes(TopicArn=arn)["Attributes"] for arn in topics]
    checks["every topic uses a rotating customer key and lets its AWS service publish"] = all(
        kms.describe_key(KeyId=attrs["KmsMasterKeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER"
        and kms.get_key_rotation_status(KeyId=attrs["KmsMasterKeyId"])["KeyRotationEnabled"]
        # the template's policy, not SNS's default one (which names no AWS service)
        and any("Service" in st.get("Principal", {}) for st in json.loads(attrs["Policy"])["Statement"])
        for attrs in topic_attributes
    )

    poll = stack.fire("InvitationPollFunction.PollSchedule")
    discovered = poll.result.get("discovered", []) if poll.ok else []
    checks["schedule tick -> invitation poll discovered the sandbox district"] = poll.ok and bool(discovered)

    sns.publish(
        TopicArn=stack.ref("InvitationEmailTopic"),
        Subject="A district added your app",
        Message="ClassLink notification",
    )
    stack.drain()
    invite = stack.functions["InvitationPollFunction"].stats
    checks["SNS nudge -> invitation poll"] = invite["sns:ok"] == 1

    fanout = stack.fire("NightlySyncFanoutFunction.NightlySchedule")
    checks["schedule tick -> nightly fan-out"] = fanout.ok

    tenant_id = discovered[0] if discovered else "unknown"
    request = {
        "tenant_id": tenant_id,
        "kind": "manual",
        "trigger": "local-stack-once",
        "requested_at": datetime.now(UTC).isoformat(),
    }
    sqs.send_message(QueueUrl=stack.environment["SYNC_QUEUE_URL"], MessageBody=json.dumps(request))
    stack.drain()
    runs = dynamodb.query(
        TableName=stack.environment["SYNC_RUNS_TABLE"],
        KeyConditionExpression="tenant_id = :t",
        ExpressionAttributeValues={":t": {"S": tenant_id}},
    )["Items"]
    checks["SQS message -> worker opened a SyncRun"] = len(runs) == 1
    queue_attrs = sqs.get_queue_attributes(
        QueueUrl=stack.environment["SYNC_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    checks["worker's message deleted after success"] = queue_attrs == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }

    assert stack.gateway is not None
    base = stack.gateway.url
    health = requests.get(f"{base}/health", timeout=10)
    launch = requests.get(f"{base}/sso/classlink/launch", allow_redirects=False, timeout=10)
    denied = requests.get(f"{base}/sso/classlink/callback?error=access_denied", timeout=10)
    checks["HTTP GET /health -> 200"] = health.status_code == 200
    checks["HTTP GET /sso/classlink/launch -> 302 to ClassLink"] = (
        launch.status_code == 302
        and launch.headers.get("Location", "").startswith(
            stack.environment["CLASSLINK_LAUNCHPAD_URL"] + "/oauth2/v2/auth?"
        )
    )
    checks["HTTP callback with error -> explained 403 page"] = (
        denied.status_code == 403 and "cancelled" in denied.text
    )

    return {
        "event": "local_stack_summary",
        "ok": all(checks.values()),
        "checks": checks,
        "tables": tables,
        "queues": sorted(url.rsplit("/", 1)[1] for url in queue_urls),
        "discovered_districts": discovered,
        "invocations": {name: dict(f.stats) for name, f in stack.functions.items()},
    }
