"""The measured process of the sync benchmark (bench/sync.py starts it).

`worker`: delivers every message on the sync queue to the real worker handler, one at a time
as Lambda would with a batch size of 1, each invocation with a context that counts down from
the function's Timeout, until the queue is empty (continuations included).
`raw`: fetches the same pages with the same client and batch-writes every record with no
reconcile, under another tenant id of the same tables: the floor a sync cannot beat.

Prints one JSON line: seconds, writes counted at botocore, invocations, peak RSS of this process.
The AWS endpoint, tables and queue come from the environment the parent set (the local stack's).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from bench.sdk_writes import count_writes
from local_stack.lambda_events import LocalLambdaContext, sqs_event

ROSTER_TABLE_VARS = (
    "ROSTER_USERS_TABLE",
    "ROSTER_ORGS_TABLE",
    "ROSTER_CLASSES_TABLE",
    "ROSTER_ENROLLMENTS_TABLE",
    "ROSTER_TERMS_TABLE",
)


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux carries that across
    fork and exec, so a child of the big parent would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_worker(function_name: str, timeout_seconds: int, memory_mb: int) -> dict[str, Any]:
    from nightly_sync import worker  # imported here: its cold start is part of the measurement

    sqs = boto3.client("sqs")
    queue_url = os.environ["SYNC_QUEUE_URL"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    invocations, failures = 0, 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"]).get(
            "Messages", []
        )
        if not messages:
            return {"invocations": invocations, "failed_records": failures}
        context = LocalLambdaContext(function_name, timeout_seconds, memory_mb, os.environ["AWS_REGION"])
        result = worker.lambda_handler(sqs_event(messages, queue_arn, os.environ["AWS_REGION"]), context)
        invocations += 1
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        failures += len(failed)
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if failed:
            raise SystemExit(f"the worker failed a record: {result}")


def run_raw(tenant_id: str, raw_tenant_id: str) -> dict[str, Any]:
    """Like for like with the engine but for the reconcile: the same client, pages and fields,
    the same records turned into the same items and written by the same writer threads (the
    engine's own RosterStore.create), under another tenant id. Missing: reading what we hold,
    hashing and diffing."""
    from smartpass.classlink.records import sourced_id_of
    from smartpass.data.base import utcnow
    from smartpass.data.districts import District
    from smartpass.data.roster_store import DynamoRosterStore
    from smartpass.data.tables import bind_tables
    from smartpass.settings import get_settings
    from smartpass.sync.collections import COLLECTIONS, role_mapping
    from smartpass_aws.sync_services import build_services

    settings = get_settings()
    bind_tables(settings)
    client = build_services(settings, lambda: 900.0).connect(District.get(tenant_id))
    roles = role_mapping(None)
    records = 0
    for spec in COLLECTIONS.values():
        store = DynamoRosterStore(spec.model, raw_tenant_id, "raw", utcnow())
        offset, limit = 0, 10_000
        while True:
            page = client.page(spec.endpoint, spec.envelope, offset=offset, limit=limit, fields=spec.fields)
            for row in page.rows:
                attributes = spec.to_attributes(spec.record_type.model_validate(row), roles)
                if attributes is not None:
                    store.create(str(sourced_id_of(row)), attributes, "raw")
                    records += 1
            store.flush()
            offset += page.limit
            if len(page.rows) < page.limit:
                break
    return {"records": records, "requests": client.stats.requests}


def main(argv: list[str]) -> int:
    mode = argv[0]
    tables = [os.environ[name] for name in ROSTER_TABLE_VARS]
    started = time.perf_counter()
    with count_writes(tables) as writes:
        if mode == "worker":
            detail = run_worker(argv[1], int(argv[2]), int(argv[3]))
        else:
            detail = run_raw(argv[1], argv[2])
    figures = {
        "seconds": round(time.perf_counter() - started, 2),
        "writes": sum(writes.values()),
        "peak_rss_mb": peak_rss_mb(),
        **detail,
    }
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
