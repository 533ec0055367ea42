"""Nightly fan-out: one sync request per district that should be synced tonight."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
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
SEND_ATTEMPTS = 3


def _lease_lapsed(district: District, now: datetime) -> bool:
    expires = district.sync_lease_expires_at
    return district.sync_lease_run_id is None or expires is None or expires < now


def plan_nightly(
    districts: Iterable[District], scheduled_time: datetime, today: date
) -> tuple[list[SyncRequest], dict[str, str]]:
    requests: list[SyncRequest] = []
    skipped: dict[str, str] = {}
    for district in districts:
        # A district left `syncing` by a run that died without finishing (its lease lapsed) is
        # synced too: otherwise it would never be synced again.
        stuck = district.state == DistrictState.SYNCING.value and _lease_lapsed(district, scheduled_time)
        if district.state not in SYNCABLE_STATES and not stuck:
            skipped[district.tenant_id] = f"state is {district.state}"
        elif (
            district.state == DistrictState.ERROR.value
            and district.first_synced_at is None
            and (district.credentials_fingerprint is not None)
        ):
            # Onboarding's to retry: a nightly would be its first sync, with no report.
            skipped[district.tenant_id] = "not synced yet; onboarding retries it"
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


def enqueue(
    sqs_client: SQSClient,
    queue_url: str,
    requests: list[SyncRequest],
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Send in batches of 10. Entries SQS refuses are sent again, alone, up to SEND_ATTEMPTS
    times; if some still fail, raise so the schedule retries the tick (the worker dedupes on
    the run id, so the accepted ones arriving twice open one run)."""
    sent: list[str] = []
    for start in range(0, len(requests), SQS_BATCH_LIMIT):
        pending = {r.tenant_id: r for r in requests[start : start + SQS_BATCH_LIMIT]}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                sleep(0.2 * 2**attempt)
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": tenant_id, "MessageBody": r.model_dump_json()} for tenant_id, r in pending.items()
            ]
            response = sqs_client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            failed = {f["Id"] for f in response.get("Failed", [])}
            sent.extend(tenant_id for tenant_id in pending if tenant_id not in failed)
            pending = {tenant_id: r for tenant_id, r in pending.items() if tenant_id in failed}
            if not pending:
                break
        if pending:
            codes = sorted({f.get("Code", "?") for f in response.get("Failed", [])})
            raise RuntimeError(
                f"SQS refused {len(pending)} sync request(s) {SEND_ATTEMPTS} times: {codes}; sent {len(sent)}"
            )
    return sent
