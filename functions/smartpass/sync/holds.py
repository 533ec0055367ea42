"""Deciding a held run: what it would deactivate, approve it, or reject it. Two kinds of people
decide: an operator (the operator CLI) and the district's own administrator signed in through
ClassLink (the district's holds page, operations/district_holds.py). Nothing here checks who may
decide; the callers do. Each decision is named the same way in the run (`decided_by`, a note in
its findings) and in the district's history (an event with the decider as actor).

Approval applies exactly the held deactivations that still hold: each one is conditional on the
record still being active with the content it had when the run was held. A hold is stale once
a later run of the district has finished (that run decided afresh), and cannot be approved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from smartpass.data.base import plain_map, utcnow
from smartpass.data.changes import Expect, absent, equals
from smartpass.data.districts import District, DistrictState, RunSummary
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import Checkpoint, SyncRun, SyncState
from smartpass.district_state import record_event, set_district_state
from smartpass.sync.collections import COLLECTIONS
from smartpass.sync.lease import acquire_lease, release_lease
from smartpass.sync.progress import HELD, ProgressParts

DECIDING_SECONDS = 300.0
SUPERSEDING = frozenset({SyncState.SUCCEEDED.value, SyncState.HELD.value, SyncState.APPROVED.value})


class HoldError(RuntimeError):
    """The hold cannot be decided now; the message says why."""


@dataclass(frozen=True)
class Decider:
    """Who decides a hold: `name` in the run (decided_by, the note) and in the history's reason,
    `actor` as the history's actor."""

    name: str
    actor: str

    @classmethod
    def operator(cls, name: str) -> Decider:
        return cls(name, f"operator:{name}")

    @classmethod
    def district_administrator(cls, sourced_id: str, display_name: str) -> Decider:
        """A district administrator signed in through ClassLink, by roster name and sourcedId."""
        who = f"{display_name} ({sourced_id})" if display_name.strip() else sourced_id
        return cls(f"{who}, district administrator via ClassLink", f"district-admin:{sourced_id}")


def _decider(operator: str | Decider) -> Decider:
    return operator if isinstance(operator, Decider) else Decider.operator(operator)


@dataclass
class HoldReview:
    tenant_id: str
    run_id: str
    by_collection: dict[str, Counter[str]] = field(default_factory=dict)  # reason -> count
    sample: list[tuple[str, str, str]] = field(default_factory=list)  # (collection, sourcedId, reason)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.by_collection.values())


def _later_decisions(stores: Stores, tenant_id: str, run_id: str) -> list[str]:
    return [r.run_id for r in stores.runs.after(tenant_id, run_id) if r.state in SUPERSEDING]


def _held_run(stores: Stores, tenant_id: str, run_id: str, allow_stale: bool = False) -> SyncRun:
    run = stores.runs.get(tenant_id, run_id)
    if run is None:
        raise HoldError(f"no run {run_id} for district {tenant_id}")
    if run.state != SyncState.HELD.value:
        raise HoldError(f"run {run_id} is {run.state}, not held")
    later = _later_decisions(stores, tenant_id, run_id)
    if later and not allow_stale:
        raise HoldError(
            f"a later run ({later[-1]}) has decided afresh; this hold is stale and cannot be applied"
        )
    return run


def review_hold(stores: Stores, tenant_id: str, run_id: str, sample_size: int = 20) -> HoldReview:
    run = _held_run(stores, tenant_id, run_id)
    review = HoldReview(tenant_id, run.run_id)
    parts = ProgressParts(stores.progress, tenant_id, run_id, utcnow())
    for collection, (sourced_id, reason, _) in parts.load(HELD):
        review.by_collection.setdefault(collection, Counter())[reason] += 1
        if len(review.sample) < sample_size:
            review.sample.append((collection, sourced_id, reason))
    return review


def _claim(stores: Stores, run: SyncRun, operator: str) -> None:
    """One decision per hold: the first person to claim it decides it (the same person may try
    again after an interruption). Without this, an approval applying deactivations and a
    rejection dropping them could run at once and leave a run rejected with half applied."""
    held = equals("state", SyncState.HELD.value)
    claims: list[list[Expect]] = [[held, absent("decided_by")], [held, equals("decided_by", operator)]]
    if any(stores.runs.update(run, {"decided_by": operator}, expect) for expect in claims):
        return
    latest = stores.runs.get(run.tenant_id, run.run_id) or run
    raise HoldError(
        f"run {run.run_id} is being decided by {latest.decided_by or 'someone else'} (it is {latest.state})"
    )


APPLY_CHUNK = 100  # deactivations sent at once (on the writer threads), between time checks
RESERVE_SECONDS = 5.0  # an approval bounded in time stops with at least this much left
APPROVING = "approve"  # the checkpoint phase of an approval applied in steps


def approve_hold(
    stores: Stores,
    tenant_id: str,
    run_id: str,
    operator: str | Decider,
    time_left: Callable[[], float] | None = None,
) -> dict[str, int]:
    """Apply the held deactivations. `operator`: an operator's name, or a Decider.

    With `time_left` (seconds), stop in time and leave the rest to the same decider: a web
    request has 29 s, and a big district's held rollover can be hundreds of thousands of records.
    How far it got is kept on the run (its checkpoint counts the entries done; its per-collection
    counts the deactivations applied), so the next call starts where this one stopped and the
    counts add up. Returns {"applied", "no_longer_applicable", "remaining"}, over every call."""
    decider = _decider(operator)
    run = _held_run(stores, tenant_id, run_id)
    _claim(stores, run, decider.name)
    district = _district(stores, tenant_id)
    if not acquire_lease(stores, district, run_id, DECIDING_SECONDS):
        raise HoldError(
            f"a sync of this district ({district.sync_lease_run_id}) is running; try again after it"
        )
    now = utcnow()
    parts = ProgressParts(stores.progress, tenant_id, run_id, now)
    resumed = run.checkpoint is not None and run.checkpoint.phase == APPROVING
    done = int(run.checkpoint.offset) if resumed and run.checkpoint is not None else 0
    seen, stopped = 0, False
    chunk: list[tuple[str, list[str]]] = []
    applied: dict[str, Counter[str]] = {}
    try:
        for collection, entry in parts.load(HELD):
            seen += 1
            if seen <= done:
                continue  # applied by an earlier call of this approval
            chunk.append((collection, entry))
            if len(chunk) == APPLY_CHUNK:
                _apply(stores, chunk, tenant_id, run_id, now, applied)
                done, chunk = done + len(chunk), []
                if time_left is not None and time_left() < RESERVE_SECONDS:
                    stopped = True
                    break
        _apply(stores, chunk, tenant_id, run_id, now, applied)
        done += len(chunk)
        if not seen and int(run.held_deactivations or 0):
            raise HoldError(
                f"the held deactivations of run {run_id} have expired; start a new sync to decide afresh"
            )
        counts = _counted(run, applied)
        changed = sum(per.get("no_longer_applicable", 0) for name, per in counts.items() if name != "total")
        outcome = {
            "applied": counts["total"].get("deactivated", 0),
            "no_longer_applicable": changed,
            "remaining": max(int(run.held_deactivations or 0) - done, 1) if stopped else 0,
        }
        if stopped:
            checkpoint = Checkpoint(phase=APPROVING, offset=done, saved_at=now)
            stores.runs.update(run, {"counts": counts, "checkpoint": checkpoint})
            return outcome
        parts.delete([HELD])
        stores.runs.update(run, {"counts": counts, "checkpoint": None})
        _decide(
            stores,
            run,
            district,
            SyncState.APPROVED.value,
            decider,
            f"approved by {decider.name}",
            deactivated=outcome["applied"],
        )
    finally:
        release_lease(stores, district, run_id)
    return outcome


def _apply(
    stores: Stores,
    chunk: list[tuple[str, list[str]]],
    tenant_id: str,
    run_id: str,
    now: datetime,
    applied: dict[str, Counter[str]],
) -> None:
    """One chunk of held deactivations, each conditional on the record being as it was when held;
    what happened is added to `applied` (per collection)."""
    by_collection: dict[str, list[tuple[str, str, str]]] = {}
    for collection, (sourced_id, reason, digest) in chunk:
        by_collection.setdefault(collection, []).append((sourced_id, reason, digest))
    for collection, entries in by_collection.items():
        store = stores.roster(COLLECTIONS[collection].model, tenant_id, run_id, now)
        done = store.deactivate_many(entries)
        applied.setdefault(collection, Counter()).update(
            deactivated=done, no_longer_applicable=len(entries) - done
        )


def _counted(run: SyncRun, applied: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    """The run's counts with this call's deactivations added (a held run had deactivated none)."""
    counts = {name: {k: int(v) for k, v in dict(per).items()} for name, per in plain_map(run.counts).items()}
    for name, added in [*applied.items(), ("total", sum(applied.values(), Counter()))]:
        per = counts.setdefault(name, {})
        for key in ("deactivated", "no_longer_applicable") if name != "total" else ("deactivated",):
            per[key] = per.get(key, 0) + added[key]
    return counts


def reject_hold(stores: Stores, tenant_id: str, run_id: str, operator: str | Decider) -> None:
    """Drop the held deactivations. A stale hold (a later run decided afresh) may be rejected
    too, to close it; it then leaves the district's state to that later run."""
    decider = _decider(operator)
    run = _held_run(stores, tenant_id, run_id, allow_stale=True)
    if run.checkpoint is not None and run.checkpoint.phase == APPROVING:
        raise HoldError(
            f"run {run_id} is being approved ({int(run.checkpoint.offset)} of "
            f"{int(run.held_deactivations or 0)} done); approve it again to finish"
        )
    _claim(stores, run, decider.name)
    stale = bool(_later_decisions(stores, tenant_id, run_id))
    district = _district(stores, tenant_id)
    ProgressParts(stores.progress, tenant_id, run_id, utcnow()).delete([HELD])
    note = f"rejected by {decider.name}" + (" (stale: a later run had decided afresh)" if stale else "")
    _decide(stores, run, district, SyncState.REJECTED.value, decider, note, restore_district=not stale)


def _district(stores: Stores, tenant_id: str) -> District:
    district = stores.districts.get(tenant_id)
    if district is None:
        raise HoldError(f"no district {tenant_id}")
    return district


def _decide(
    stores: Stores,
    run: SyncRun,
    district: District,
    state: str,
    decider: Decider,
    note: str,
    restore_district: bool = True,
    deactivated: int = 0,
) -> None:
    stores.runs.update(
        run, {"state": state, "decided_by": decider.name, "findings": [*(run.findings or []), note]}
    )
    # Every decision, whoever made it and whatever the district's state does next.
    record_event(stores, district.tenant_id, f"hold_{state}", decider.actor, f"run {run.run_id} {note}")
    last = district.last_run
    if last is not None and last.run_id == run.run_id:
        # The district's last run is now decided: lists and the sign-in check show it so.
        decided = RunSummary(
            run_id=last.run_id, kind=last.kind, state=state, finished_at=last.finished_at, message=note
        )
        decided.counts = {**plain_map(last.counts), "deactivated": deactivated}
        stores.districts.update(district, {"last_run": decided})
    if restore_district and district.state == DistrictState.HELD.value:
        set_district_state(stores, district, DistrictState.ACTIVE.value, note, None, decider.actor)
