"""SyncRun: one record per roster sync of a district.

Access patterns
- the runs of a district, newest first (status page, health report) -> query(tenant_id, desc)
- one run by id (worker continuation from a checkpoint)               -> get(tenant_id, run_id)
Run ids sort by time: `<UTC ISO timestamp>#<kind>#<suffix>`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from smartpass.data.base import BoundModel, utcnow


class SyncKind(StrEnum):
    INITIAL = "initial"
    NIGHTLY = "nightly"
    MANUAL = "manual"


class SyncState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    HELD = "held"
    FAILED = "failed"


def make_run_id(started_at: datetime, kind: SyncKind, suffix: str) -> str:
    return f"{started_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{kind.value}#{suffix}"


class SyncCounts(MapAttribute):
    fetched = NumberAttribute(default=0)
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    unchanged = NumberAttribute(default=0)
    deactivated = NumberAttribute(default=0)
    reactivated = NumberAttribute(default=0)
    skipped_invalid = NumberAttribute(default=0)


class Checkpoint(MapAttribute):
    collection = UnicodeAttribute()
    offset = NumberAttribute(default=0)
    perm_rev = UnicodeAttribute(null=True)


class SyncRun(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    tenant_id = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    state = UnicodeAttribute(default=SyncState.QUEUED.value)
    # What asked for it (the schedule's scheduled-time, an invitation, an operator) - idempotency.
    trigger = UnicodeAttribute()
    counts = SyncCounts(default=SyncCounts)
    checkpoint = Checkpoint(null=True)
    lease_owner = UnicodeAttribute(null=True)
    lease_expires_at = UTCDateTimeAttribute(null=True)
    findings = ListAttribute(of=UnicodeAttribute, default=list)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)
    finished_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()
