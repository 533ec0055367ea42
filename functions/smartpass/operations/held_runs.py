"""Held runs waiting for an operator: which, where, and why they were held.

A run is held when its deactivations went over the district's threshold (sync/runner.py); the
district then shows `held` and its last run summary says so. Listing reads the Districts table
once and queries runs only of districts whose state or last run is held, so the list costs one
scan plus one query per held district. Reviewing, approving and rejecting a hold are
smartpass.sync.holds's; this module only finds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smartpass.data.districts import District, DistrictState
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncState
from smartpass.sync.holds import SUPERSEDING

RUNS_LOOKED_AT = 50  # newest runs of a held district searched for holds (a hold is recent)
RUN_FIELDS = ["run_id", "kind", "state", "finished_at", "held_deactivations", "findings"]


@dataclass(frozen=True)
class HeldRun:
    tenant_id: str
    district_name: str
    run_id: str
    kind: str
    finished_at: datetime | None
    held_deactivations: int
    reasons: tuple[str, ...]  # why it was held, in plain words
    # A later run has decided afresh: this hold can no longer be approved, only dropped.
    stale: bool


def list_held_runs(
    stores: Stores, tenant_id: str | None = None, include_stale: bool = False
) -> list[HeldRun]:
    """Held runs waiting for a decision, newest first; of one district, or of every district
    that has one. With `include_stale`, also holds a later run superseded (those are found in
    any district, so every district's runs are read)."""
    if tenant_id is not None:
        district = stores.districts.get(tenant_id)
        if district is None:
            raise LookupError(f"no district with tenant id {tenant_id}")
        districts = [district]
    else:
        districts = [d for d in stores.districts.all() if include_stale or _may_hold(d)]
    held: list[HeldRun] = []
    for district in districts:
        held += [h for h in _held_of(stores, district) if include_stale or not h.stale]
    return sorted(held, key=lambda h: h.run_id.split("#")[0], reverse=True)


def _may_hold(district: District) -> bool:
    last = district.last_run
    return district.state == DistrictState.HELD.value or (
        last is not None and last.state == SyncState.HELD.value
    )


def _held_of(stores: Stores, district: District) -> list[HeldRun]:
    found: list[HeldRun] = []
    decided_later = False  # runs come newest first
    for run in stores.runs.newest(district.tenant_id, RUNS_LOOKED_AT, attributes=RUN_FIELDS):
        if run.state == SyncState.HELD.value:
            found.append(
                HeldRun(
                    tenant_id=district.tenant_id,
                    district_name=district.name,
                    run_id=run.run_id,
                    kind=run.kind,
                    finished_at=run.finished_at,
                    held_deactivations=int(run.held_deactivations or 0),
                    reasons=tuple(str(f) for f in run.findings or []),
                    stale=decided_later,
                )
            )
        if run.state in SUPERSEDING:
            decided_later = True
    return found
