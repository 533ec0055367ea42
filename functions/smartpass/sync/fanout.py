"""Nightly fan-out: one sync request per district that should be synced tonight."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import SyncKind
from smartpass.sync.requests import SyncRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

# States a nightly sync runs in. `held` waits for an operator, `paused` for the district,
# `connecting` for onboarding's initial sync.
SYNCABLE_STATES = frozenset({DistrictState.ACTIVE.value, DistrictState.ERROR.value})
SQS_BATCH_LIMIT = 10


def plan_nightly(
    districts: Iterable[District], scheduled_time: datetime, today: date
) -> tuple[list[SyncRequest], dict[str, str]]:
    requests: list[SyncRequest] = []
    skipped: dict[str, str] = {}
    for district in districts:
        if district.state not in SYNCABLE_STATES:
            skipped[district.tenant_id] = f"state is {district.state}"
        elif today.isoformat() in (district.sync_settings.blackout_dates or []):
            skipped[district.tenant_id] = "blackout date"
        else:
            requests.append(
                SyncRequest(
                    tenant_id=district.tenant_id,
                    kind=SyncKind.NIGHTLY,
                    trigger=f"schedule:{scheduled_time.isoformat()}",
                    requested_at=scheduled_time,
                )
            )
    return requests, skipped


def enqueue(sqs_client: SQSClient, queue_url: str, requests: list[SyncRequest]) -> list[str]:
    """Send in batches of 10; raise if SQS refuses any entry so the schedule retries the tick
    (the worker is idempotent on the trigger, so re-sending the accepted ones is harmless)."""
    sent: list[str] = []
    for start in range(0, len(requests), SQS_BATCH_LIMIT):
        chunk = requests[start : start + SQS_BATCH_LIMIT]
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {
                "Id": hashlib.sha256(r.idempotency_key().encode()).hexdigest()[:40],
                "MessageBody": r.model_dump_json(),
            }
            for r in chunk
        ]
        response = sqs_client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if response.get("Failed"):
            codes = sorted({f.get("Code", "?") for f in response["Failed"]})
            raise RuntimeError(f"SQS refused {len(response['Failed'])} sync request(s): {codes}")
        sent.extend(r.tenant_id for r in chunk)
    return sent
