"""What an operator (CLI) or the status page reads about districts: plain frozen snapshots.

- `list_districts(stores)`: every district with its state and last run, from ONE scan of the Districts
  table: the sync writes a summary of each finished run onto the District item
  (`District.last_run`), so the list never queries runs per district.
- `district_detail(stores, tenant_id)`: one district with its recent runs (counts, notes, roster health
  findings) and its history of state changes: two more queries.

Never a credential, roster record or person: runs carry counts and findings, not people.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smartpass.data.base import plain_map
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, RunSummary, SyncSettings
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncRun


class UnknownDistrict(LookupError):
    """No district with that tenant id."""


@dataclass(frozen=True)
class RunCounts:
    """A run's counts (smartpass.data.sync_runs.COUNT_NAMES), summed or of one collection."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0
    invalid: int = 0
    ignored: int = 0

    @classmethod
    def of(cls, raw: Any) -> RunCounts:
        values = plain_map(raw)
        return cls(**{f.name: int(values.get(f.name) or 0) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class LastRun:
    """The summary of a district's last finished run, as kept on the District item."""

    run_id: str
    kind: str  # initial, nightly, manual
    state: str  # a SyncState: succeeded, held, failed, skipped...
    finished_at: datetime | None
    message: str | None  # why it was held or failed, in plain words
    counts: RunCounts | None


@dataclass(frozen=True)
class DistrictSummary:
    """What the list shows of a district (the detail adds connection, dates and settings)."""

    tenant_id: str
    name: str
    state: str  # a DistrictState
    state_reason: str | None  # why it is in that state (who paused it, why it is held...)
    last_run: LastRun | None


@dataclass(frozen=True)
class HealthFindingView:
    code: str
    count: int
    message: str
    fix: str


@dataclass(frozen=True)
class RunView:
    run_id: str
    kind: str
    state: str
    trigger: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    counts: RunCounts  # summed over collections
    by_collection: Mapping[str, RunCounts]
    pieces: int
    seconds: float
    requests: int
    retries: int
    held_deactivations: int
    findings: tuple[str, ...]  # notes of the sync itself (why held, restarts, decided by...)
    health: tuple[HealthFindingView, ...]  # roster health findings with the district's fix
    synced: Mapping[str, int]  # schools, students, teachers, staff
    error: str | None
    decided_by: str | None  # the operator who approved or rejected a hold


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime | None
    kind: str
    from_state: str | None
    to_state: str | None
    actor: str
    reason: str


@dataclass(frozen=True)
class SettingsView:
    threshold_percent: float
    threshold_minimum: int
    blackout_dates: tuple[str, ...]
    collections: tuple[str, ...]
    role_mapping: Mapping[str, str]  # the district's overrides over the default mapping
    page_size: int


@dataclass(frozen=True)
class DistrictDetail:
    district: DistrictSummary
    paused_by: str | None  # "operator:<name>" when an operator paused it (the poll leaves it so)
    running_run_id: str | None  # the run holding the district's sync lease, if any
    registration: str  # "partner-api" (found by the poll) or "operator" (registered by hand)
    connection_mode: str  # "proxy" or "oauth1"
    settings: SettingsView
    contact_email: str | None  # the district's report address (set by an operator)
    connected_at: datetime | None
    first_synced_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    runs: tuple[RunView, ...]  # newest first
    history: tuple[HistoryEvent, ...]  # newest first


# The list reads whole items. A projection would not make the Scan cheaper on AWS (read capacity
# is charged on the items' full size either way), and on the local stack moto converts the
# whole item once per projected attribute, which made the list slower (bench/ops_districts.py).


def list_districts(stores: Stores) -> list[DistrictSummary]:
    """Every district, by name: one (paged) scan of the table, nothing per district."""
    scan = stores.districts.all()
    return sorted((summarize(d) for d in scan), key=lambda s: (s.name.lower(), s.tenant_id))


def district_detail(stores: Stores, tenant_id: str, runs: int = 10, history: int = 20) -> DistrictDetail:
    district = stores.districts.get(tenant_id)
    if district is None:
        raise UnknownDistrict(f"no district with tenant id {tenant_id}")
    recent = stores.runs.newest(tenant_id, runs)
    events = stores.history.newest(tenant_id, history)
    return DistrictDetail(
        district=summarize(district),
        paused_by=district.paused_by,
        running_run_id=district.sync_lease_run_id,
        registration=district.registration,
        connection_mode=district.connection_mode,
        settings=settings_view(district.sync_settings),
        contact_email=district.contact_email,
        connected_at=district.connected_at,
        first_synced_at=district.first_synced_at,
        created_at=district.created_at,
        updated_at=district.updated_at,
        runs=tuple(run_view(r) for r in recent),
        history=tuple(_event(e) for e in events),
    )


def summarize(district: District) -> DistrictSummary:
    return DistrictSummary(
        tenant_id=district.tenant_id,
        name=district.name,
        state=district.state,
        state_reason=district.state_reason,
        last_run=_last_run(district.last_run),
    )


def settings_view(settings: SyncSettings | None) -> SettingsView:
    s = settings or SyncSettings()
    return SettingsView(
        threshold_percent=float(s.deactivation_threshold_percent),
        threshold_minimum=int(s.deactivation_threshold_minimum),
        blackout_dates=tuple(sorted(str(d) for d in s.blackout_dates or [])),
        collections=tuple(str(c) for c in s.collections or []),
        role_mapping={str(k): str(v) for k, v in plain_map(s.role_mapping).items()},
        page_size=int(s.page_size or 10_000),
    )


def run_view(run: SyncRun) -> RunView:
    counts = plain_map(run.counts)
    return RunView(
        run_id=run.run_id,
        kind=run.kind,
        state=run.state,
        trigger=run.trigger,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=RunCounts.of(counts.get("total")),
        by_collection={
            name: RunCounts.of(per) for name, per in counts.items() if name not in ("total", "client")
        },
        pieces=int(run.pieces or 0),
        seconds=float(run.seconds or 0),
        requests=int(run.requests or 0),
        retries=int(run.retries or 0),
        held_deactivations=int(run.held_deactivations or 0),
        findings=tuple(str(f) for f in run.findings or []),
        health=tuple(
            HealthFindingView(code=h.code, count=int(h.count or 0), message=h.message, fix=h.fix)
            for h in run.health or []
        ),
        synced={str(k): int(v) for k, v in plain_map(run.synced).items()},
        error=run.error,
        decided_by=run.decided_by,
    )


def to_plain(value: Any) -> Any:
    """A snapshot as JSON-ready data (times as ISO 8601 strings), for `--json` and status.json."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _last_run(summary: RunSummary | None) -> LastRun | None:
    if summary is None:
        return None
    return LastRun(
        run_id=summary.run_id,
        kind=summary.kind,
        state=summary.state,
        finished_at=summary.finished_at,
        message=summary.message,
        counts=RunCounts.of(summary.counts) if summary.counts is not None else None,
    )


def _event(event: DistrictEvent) -> HistoryEvent:
    return HistoryEvent(
        at=event.at,
        kind=event.kind,
        from_state=event.from_state,
        to_state=event.to_state,
        actor=event.actor,
        reason=event.reason,
    )
