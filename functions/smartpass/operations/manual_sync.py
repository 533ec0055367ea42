"""An operator's manual sync: the same SyncRequest the system sends (kind `manual`), to the same
queue the worker reads, and how far its run has got.

The worker decides as for any run (a paused district is never synced; a held one only by a
manual run, which decides the hold afresh). We check the district's state first only to say so
at once instead of after a queue round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smartpass.data.base import utcnow
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import TERMINAL_STATES, SyncKind, SyncRun, SyncState
from smartpass.district_state import record_event
from smartpass.operations.overview import RunCounts, RunView, run_view
from smartpass.sync.collections import COLLECTIONS
from smartpass.sync.handle_request import STARTABLE
from smartpass.sync.requests import SyncRequest


class SyncRefused(RuntimeError):
    """The sync cannot be started; the message says why in plain words."""


@dataclass(frozen=True)
class RunProgress:
    tenant_id: str
    run_id: str
    state: str  # "queued" until the worker opens the run, then its SyncState
    ended: bool
    collections: tuple[str, ...]  # in the order the run pulls them
    done: float  # collections done, fractional within the current one (0..len(collections))
    current: str | None  # the collection being pulled or applied
    pieces: int
    counts: RunCounts  # so far, saved at the end of each piece
    message: str | None  # why it failed or was held
    run: RunView | None  # the whole run, once it exists


def start_manual_sync(stores: Stores, tenant_id: str, operator: str, queue_url: str, sqs: Any) -> str:
    """Queue a manual sync of the district; returns its run id."""
    district = stores.districts.get(tenant_id)
    if district is None:
        raise SyncRefused(f"no district with tenant id {tenant_id}")
    if district.state not in STARTABLE[SyncKind.MANUAL.value]:
        hint = "; resume it first" if district.state == "paused" else ""
        raise SyncRefused(f"{district.name} is {district.state}: a manual sync would be skipped{hint}")
    now = utcnow()
    request = SyncRequest(
        tenant_id=tenant_id, kind=SyncKind.MANUAL, trigger=f"operator:{operator}", requested_at=now
    )
    sqs.send_message(QueueUrl=queue_url, MessageBody=request.model_dump_json())
    run_id = request.resolved_run_id()
    record_event(stores, tenant_id, "sync_requested", f"operator:{operator}", f"manual sync {run_id} queued")
    return run_id


def run_progress(stores: Stores, tenant_id: str, run_id: str) -> RunProgress:
    district = stores.districts.get(tenant_id)
    wanted = (
        [str(c) for c in district.sync_settings.collections or COLLECTIONS] if district else list(COLLECTIONS)
    )
    names = tuple(n for n in COLLECTIONS if n in wanted)
    run = stores.runs.get(tenant_id, run_id)
    if run is None:
        return RunProgress(
            tenant_id, run_id, SyncState.QUEUED.value, False, names, 0.0, None, 0, RunCounts(), None, None
        )
    view = run_view(run)
    ended = SyncState(run.state) in TERMINAL_STATES
    done, current = _position(run, names, ended)
    message = run.error if run.state in (SyncState.FAILED.value, SyncState.SKIPPED.value) else None
    if run.state == SyncState.HELD.value:
        message = "; ".join(view.findings) or "held for approval"
    return RunProgress(
        tenant_id, run_id, run.state, ended, names, done, current, view.pieces, view.counts, message, view
    )


def _position(run: SyncRun, names: tuple[str, ...], ended: bool) -> tuple[float, str | None]:
    if ended:
        return float(len(names)), None
    checkpoint = run.checkpoint
    if checkpoint is None or checkpoint.collection not in names:
        return 0.0, names[0] if names and run.state == SyncState.RUNNING.value else None
    index = names.index(checkpoint.collection)
    if checkpoint.phase == "finish":  # every pull is done; deactivations are being applied
        return float(len(names)) - 0.5, checkpoint.collection
    total = int(checkpoint.total or 0)
    within = min(int(checkpoint.offset or 0) / total, 0.99) if total else 0.0
    return index + within, checkpoint.collection
