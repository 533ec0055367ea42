"""Ending a run: its final state on the run record, the district's state and last run, the
report, and last of all the lease released.

The district's state and last run are written only while the run holds the district's lease, and
not over a pause (district_state.set_district_state). When they are not written, no report goes
out either: a district paused or removed during the run has asked us to stop, and a run that lost
its lease to another is not the district's latest word. The run records why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState, RunSummary
from smartpass.data.sync_runs import FailureCode, SyncRun, SyncState
from smartpass.district_state import set_district_state
from smartpass.sync.lease import release_lease
from smartpass.sync.report_delivery import send_report
from smartpass.sync.services import RequestOutcome, SyncServices

DISTRICT_STATE_AFTER = {
    SyncState.SUCCEEDED.value: DistrictState.ACTIVE.value,
    SyncState.HELD.value: DistrictState.HELD.value,
    SyncState.FAILED.value: DistrictState.ERROR.value,
}


def finish(
    services: SyncServices,
    run: SyncRun,
    district: District,
    outcome: RequestOutcome,
    state: str,
    message: str,
    report: bool = True,
    time_left: Callable[[], float] | None = None,
    last_chance: bool = True,
) -> RequestOutcome:
    """May raise ReportDeferred (report_delivery.py) after the states are written and before
    the lease is released: the caller sends the report's own piece."""
    stores = services.stores
    previous_run = district.last_run  # before this run's summary replaces it
    now = utcnow()
    revoked = outcome.result is not None and outcome.result.revoked
    changes: dict[str, Any] = {
        "state": state,
        "finished_at": now,
        # why it failed, or why it was skipped (paused, superseded)
        "error": message if state in (SyncState.FAILED.value, SyncState.SKIPPED.value) and message else None,
    }
    if revoked:  # a reason code, so nothing later reads it from the message's words
        changes["failure_code"] = FailureCode.CREDENTIALS_REVOKED.value
    if run.state != state or run.finished_at is None:  # not again when finishing a crash's leftovers
        stores.runs.update(run, changes)
    outcome.state = state
    outcome.reason = message
    summary = RunSummary(
        run_id=run.run_id, kind=run.kind, state=state, finished_at=now, message=message or None
    )
    if outcome.result is not None:
        summary.counts = outcome.result.counts["total"]
    district_changes: dict[str, Any] = {}
    if revoked:
        # the mark of revoked access; onboarding's next poll checks the connection again
        district_changes.update(sharing_enabled=False, connection_ok=False)
    if state == SyncState.SUCCEEDED.value:
        district_changes["connect_attempts"] = 0
        if district.first_synced_at is None:
            district_changes["first_synced_at"] = now
    district_state = DISTRICT_STATE_AFTER.get(state)
    written = True
    if district_state is not None:
        written = set_district_state(
            stores,
            district,
            district_state,
            f"{run.kind} sync succeeded" if state == SyncState.SUCCEEDED.value else message,
            summary,
            f"sync-run:{run.run_id}",
            district_changes,
            lease_run_id=run.run_id,
        )
    if not written:
        why = _not_recorded(services, district.tenant_id, run.run_id)
        outcome.notes.append(why)
        if why not in (run.findings or []):
            stores.runs.update(run, {"findings": [*(run.findings or []), why]})
    elif report and state != SyncState.SKIPPED.value:
        send_report(run, district, state, message, services, previous_run, time_left, last_chance)
    # Last: while the lease still names this run, a redelivery knows the bookkeeping is unfinished.
    release_lease(stores, district, run.run_id)
    return outcome


def _not_recorded(services: SyncServices, tenant_id: str, run_id: str) -> str:
    """Why the district's state was not written (and no report sent), in words for the run."""
    current = services.stores.districts.get(tenant_id, attributes=["state", "sync_lease_run_id"])
    if current is None:
        return "the district was removed during the run: its state was not changed and no report was sent"
    if current.state == DistrictState.PAUSED.value:
        return "the district was paused during the run: its state was not changed and no report was sent"
    if current.sync_lease_run_id != run_id:
        return (
            f"another run ({current.sync_lease_run_id or 'since finished'}) took the district over: "
            "this run did not change its state and sent no report"
        )
    return "the district's state did not change: no report was sent"
