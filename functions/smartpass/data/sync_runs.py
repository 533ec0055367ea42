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
    RUNNING = "running"  # also between the pieces of a checkpointed run
    SUCCEEDED = "succeeded"
    HELD = "held"  # waits for an operator to approve or reject its deactivations
    APPROVED = "approved"  # was held; the operator applied its deactivations
    REJECTED = "rejected"  # was held; the operator dropped its deactivations
    FAILED = "failed"
    SKIPPED = "skipped"  # the district was paused or gone when the run was due


class FailureCode(StrEnum):
    """Why a run failed, where something later acts on it (never read from the message)."""

    CREDENTIALS_REVOKED = "credentials_revoked"  # ClassLink refused our credentials (401)


TERMINAL_STATES = frozenset(
    {
        SyncState.SUCCEEDED,
        SyncState.HELD,
        SyncState.APPROVED,
        SyncState.REJECTED,
        SyncState.FAILED,
        SyncState.SKIPPED,
    }
)


def make_run_id(started_at: datetime, kind: SyncKind, suffix: str) -> str:
    return f"{started_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{kind.value}#{suffix}"


COUNT_NAMES = (
    "fetched",
    "created",
    "updated",
    "unchanged",
    "deactivated",
    "reactivated",
    "invalid",
    "ignored",
)


class Checkpoint(MapAttribute):
    """Where the next piece of a run starts: a collection and offset, or the final phase."""

    phase = UnicodeAttribute(default="pull")  # "pull" or "finish"
    # pull: the collection and offset of the next page; finish: the collection being applied
    # and how many of its (sorted) deactivations are done.
    collection = UnicodeAttribute(null=True)
    offset = NumberAttribute(default=0)
    page_size = NumberAttribute(default=10_000)
    perm_rev = UnicodeAttribute(null=True)
    total = NumberAttribute(null=True)
    restarts = NumberAttribute(default=0)
    duplicates = NumberAttribute(default=0)
    unidentified = NumberAttribute(default=0)
    saved_at = UTCDateTimeAttribute(null=True)


class HealthFinding(MapAttribute):
    """A roster health finding of a run, in plain words, with what the district can do."""

    code = UnicodeAttribute()  # no_teachers, no_staff, students_without_school, ...
    count = NumberAttribute(default=0)
    message = UnicodeAttribute()
    fix = UnicodeAttribute()


class SyncRun(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    tenant_id = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    state = UnicodeAttribute(default=SyncState.QUEUED.value)
    # What asked for it (the schedule's scheduled-time, an invitation, an operator) - idempotency.
    trigger = UnicodeAttribute()
    # {"users": {"fetched": n, "created": n, ...}, ...} and the sum over collections in "total".
    counts: MapAttribute[str, object] = MapAttribute(default=dict)
    requests = NumberAttribute(default=0)
    retries = NumberAttribute(default=0)
    pieces = NumberAttribute(default=0)
    seconds = NumberAttribute(default=0)  # time spent working, summed over pieces
    checkpoint = Checkpoint(null=True)
    # Invalid records, as "<collection> <sourcedId>: <reason>" (first 50; the count is complete).
    invalid_records = ListAttribute(of=UnicodeAttribute, default=list)
    held_deactivations = NumberAttribute(default=0)
    findings = ListAttribute(of=UnicodeAttribute, default=list)  # notes of the sync itself
    health: ListAttribute[HealthFinding] = ListAttribute(of=HealthFinding, null=True)
    # What was synced in words a district uses: schools, students, teachers, staff.
    synced: MapAttribute[str, object] = MapAttribute(null=True)
    error = UnicodeAttribute(null=True)
    failure_code = UnicodeAttribute(null=True)  # a FailureCode, when one applies
    created_at = UTCDateTimeAttribute(default=utcnow)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    reported_at = UTCDateTimeAttribute(null=True)  # when its report went out (once per run)
    decided_by = UnicodeAttribute(null=True)  # the operator who approved or rejected a hold
    # The district's lease fencing token this run took (District.sync_lease_fence).
    lease_fence = NumberAttribute(null=True)
    # The worker's CPU seconds per phase, summed over the pieces: pull (fetch, diff, write),
    # absence (judging what is absent, and the hold decision), apply (deactivations), report.
    cpu_seconds: MapAttribute[str, object] = MapAttribute(null=True)
    version = VersionAttribute()
