"""The scripted pass of `--once`: one event of each kind through the real handlers, checked.

It is what CI and a person checking an install run: every table and queue exists; the first
poll discovers the ClassLink district, connects it and queues its initial sync, which the worker
runs and reports to the operator topic, with nobody touching anything; an SNS nudge reaches the
same handler; the nightly tick fans out and each district syncs again; HTTP requests reach the
SSO routes.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from local_stack.stack import LocalStack
from local_stack.story import Story


def run_once(stack: LocalStack, story: Story) -> dict[str, Any]:
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

    # The main job: the poll finds the district, connects it and queues its initial sync; the
    # worker syncs it and the report reaches the operator topic. No step is done by hand.
    poll = stack.fire("InvitationPollFunction.PollSchedule")
    discovered = sorted(poll.result.get("discovered", [])) if poll.ok else []
    checks["schedule tick -> invitation poll discovered a district"] = poll.ok and bool(discovered)
    checks["poll connected each discovered district"] = (
        bool(discovered) and sorted(poll.result.get("connected", [])) == discovered
    )
    stack.drain(timeout_seconds=600)
    story.poll()
    told = story.lines
    initial = {
        line["tenant_id"]: line
        for line in told
        if line["event"] == "sync_finished" and line["kind"] == "initial"
    }
    checks["initial sync of each discovered district succeeded"] = bool(discovered) and all(
        initial.get(t, {}).get("state") == "succeeded" for t in discovered
    )
    reported = {line["tenant_id"] for line in told if line["event"] == "report_sent"}
    checks["a report of each initial sync reached the operator topic"] = (
        bool(discovered) and set(discovered) <= reported
    )
    told_events = {line["event"] for line in told}
    checks["the story told discovered, connected, started, finished, findings, report"] = {
        "district_discovered",
        "district_connected",
        "sync_started",
        "sync_finished",
        "findings",
        "report_sent",
    } <= told_events

    sns.publish(
        TopicArn=stack.ref("InvitationEmailTopic"),
        Subject="A district added your app",
        Message="ClassLink notification",
    )
    stack.drain()
    invite = stack.functions["InvitationPollFunction"].stats
    checks["SNS nudge -> invitation poll"] = invite["sns:ok"] == 1

    fanout = stack.fire("NightlySyncFanoutFunction.NightlySchedule")
    enqueued = sorted(fanout.result.get("enqueued", [])) if fanout.ok else []
    stack.drain(timeout_seconds=600)
    story.poll()
    nightly = {
        line["tenant_id"]: line["state"]
        for line in story.lines
        if line["event"] == "sync_finished" and line["kind"] == "nightly"
    }
    checks["schedule tick -> nightly fan-out -> nightly sync of each connected district"] = (
        enqueued == discovered and all(nightly.get(t) == "succeeded" for t in discovered)
    )
    queue_attrs = sqs.get_queue_attributes(
        QueueUrl=stack.environment["SYNC_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    checks["sync queue empty: every message handled and deleted"] = queue_attrs == {
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
        "synced": {t: line.get("synced") for t, line in initial.items()},
        "findings": {
            line["tenant_id"]: [f["message"] for f in line["findings"]]
            for line in story.lines
            if line["event"] == "findings" and line["kind"] == "initial"
        },
        "invocations": {name: dict(f.stats) for name, f in stack.functions.items()},
    }
