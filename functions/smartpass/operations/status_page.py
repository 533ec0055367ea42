"""The operator status page: every district with its state and last run, what needs a person
(held runs, failed runs), and a chart of each busy district's recent runs, so an operator looks
instead of reading logs. The same snapshot is served as JSON.

Cost: one scan of the Districts table (the list), one more for held runs plus a query per held
district, and one query of recent runs per charted district (at most CHARTED_DISTRICTS, those
that need attention first), so the page stays fast with a thousand districts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smartpass.data.base import utcnow
from smartpass.data.districts import DistrictState
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncState
from smartpass.operations.held_runs import HeldRun, list_held_runs
from smartpass.operations.overview import DistrictSummary, RunView, list_districts, run_view, to_plain
from smartpass.operations.page_layout import badge, esc, number, page, when

CHARTED_DISTRICTS = 24
CHARTED_RUNS = 10
# Counts that mean a change to the roster (fetched and unchanged would flatten every chart).
SERIES = ("created", "updated", "reactivated", "deactivated", "invalid")
ATTENTION = {DistrictState.HELD.value, DistrictState.ERROR.value}


@dataclass(frozen=True)
class FailedRun:
    tenant_id: str
    district_name: str
    run_id: str
    kind: str
    finished_at: datetime | None
    why: str


@dataclass(frozen=True)
class StatusSnapshot:
    generated_at: datetime
    districts: tuple[DistrictSummary, ...]
    held_runs: tuple[HeldRun, ...]
    failed_runs: tuple[FailedRun, ...]
    recent_runs: dict[str, tuple[RunView, ...]]  # tenant id -> newest first, charted districts only


def _needs_attention(district: DistrictSummary) -> bool:
    last = district.last_run
    return district.state in ATTENTION or (
        last is not None and last.state in (SyncState.HELD, SyncState.FAILED)
    )


def _charted(districts: list[DistrictSummary]) -> list[DistrictSummary]:
    def latest(d: DistrictSummary) -> float:
        finished = d.last_run.finished_at if d.last_run else None
        return finished.timestamp() if finished else 0.0

    ranked = sorted(districts, key=lambda d: (not _needs_attention(d), -latest(d), d.name.lower()))
    return [d for d in ranked if d.last_run is not None][:CHARTED_DISTRICTS]


def collect_status(stores: Stores) -> StatusSnapshot:
    districts = list_districts(stores)
    recent: dict[str, tuple[RunView, ...]] = {}
    for district in _charted(districts):
        runs = stores.runs.newest(district.tenant_id, CHARTED_RUNS, consistent=False)
        recent[district.tenant_id] = tuple(run_view(r) for r in runs)
    names = {d.tenant_id: d.name for d in districts}
    failed = [
        FailedRun(tenant, names[tenant], r.run_id, r.kind, r.finished_at, r.error or "; ".join(r.findings))
        for tenant, runs in recent.items()
        for r in runs
        if r.state == SyncState.FAILED
    ]
    # A district not charted still shows its last failure (from its summary).
    failed += [
        FailedRun(
            d.tenant_id,
            d.name,
            d.last_run.run_id,
            d.last_run.kind,
            d.last_run.finished_at,
            d.last_run.message or "",
        )
        for d in districts
        if d.last_run is not None and d.last_run.state == SyncState.FAILED and d.tenant_id not in recent
    ]
    failed.sort(key=lambda f: f.run_id.split("#")[0], reverse=True)
    return StatusSnapshot(
        generated_at=utcnow(),
        districts=tuple(districts),
        held_runs=tuple(list_held_runs(stores)),
        failed_runs=tuple(failed),
        recent_runs=recent,
    )


def status_json(snapshot: StatusSnapshot) -> dict[str, Any]:
    plain: dict[str, Any] = to_plain(snapshot)
    return plain


# ------------------------------------------------------------------ HTML
def render_status_page(snapshot: StatusSnapshot) -> str:
    states: dict[str, int] = {}
    for d in snapshot.districts:
        states[d.state] = states.get(d.state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no districts yet"
    body = (
        _held_section(snapshot.held_runs)
        + _failed_section(snapshot.failed_runs)
        + _districts_section(snapshot.districts)
        + _charts_section(snapshot)
    )
    count = len(snapshot.districts)
    subtitle = (
        f"{count} district{'' if count == 1 else 's'} ({summary}) · as of {when(snapshot.generated_at)}"
    )
    return page("SmartPass ClassLink status", subtitle, body)


def _table(head: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>'
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _held_section(held: tuple[HeldRun, ...]) -> str:
    rows = [
        f'<tr class="held-run"><td>{esc(h.district_name)} <span class="muted">{esc(h.tenant_id)}</span></td>'
        f"<td><code>{esc(h.run_id)}</code></td><td>{esc(h.kind)}</td><td>{when(h.finished_at)}</td>"
        f'<td class="n">{number(h.held_deactivations)}</td><td>{esc("; ".join(h.reasons))}'
        + (' <span class="muted">(a later run has decided afresh: reject it)</span>' if h.stale else "")
        + f"</td><td><code>smartpass-ops holds show {esc(h.tenant_id)} {esc(h.run_id)}</code></td></tr>"
        for h in held
    ]
    head = ["District", "Run", "Kind", "Held at", "Would deactivate", "Why", "Review with"]
    table = _table(head, rows, "No run is held.")
    return f'<section id="held"><h2>Held runs ({len(held)})</h2>{table}</section>'


def _failed_section(failed: tuple[FailedRun, ...]) -> str:
    rows = [
        f'<tr class="failed-run"><td>{esc(f.district_name)} '
        f'<span class="muted">{esc(f.tenant_id)}</span></td>'
        f"<td><code>{esc(f.run_id)}</code></td><td>{esc(f.kind)}</td><td>{when(f.finished_at)}</td>"
        f"<td>{esc(f.why)}</td></tr>"
        for f in failed
    ]
    table = _table(["District", "Run", "Kind", "Failed at", "Why"], rows, "No recent run failed.")
    return f'<section id="failed"><h2>Failed runs ({len(failed)})</h2>{table}</section>'


def _districts_section(districts: tuple[DistrictSummary, ...]) -> str:
    rows = []
    for d in districts:
        last = d.last_run
        counts = last.counts if last else None
        cells = "".join(
            f'<td class="n">{number(getattr(counts, name) if counts else None)}</td>'
            for name in ("fetched", *SERIES)
        )
        outcome = (
            f"{badge(last.state)} {esc(last.kind)} · {when(last.finished_at)}" if last else "never synced"
        )
        reason = f'<br><span class="muted">{esc(d.state_reason)}</span>' if d.state_reason else ""
        rows.append(
            f'<tr class="district" data-tenant="{esc(d.tenant_id)}"><td>{esc(d.name)}<br>'
            f'<span class="muted">{esc(d.tenant_id)}</span></td><td>{badge(d.state)}{reason}</td>'
            f"<td>{outcome}</td>{cells}</tr>"
        )
    head = ["District", "State", "Last run", "Fetched", *(s.capitalize() for s in SERIES)]
    return f'<section id="districts"><h2>Districts</h2>{_table(head, rows, "No district yet.")}</section>'


def _charts_section(snapshot: StatusSnapshot) -> str:
    names = {d.tenant_id: d.name for d in snapshot.districts}
    figures = "".join(
        f'<figure data-tenant="{esc(t)}"><figcaption>{esc(names.get(t, t))}: changes per run, oldest first'
        f"</figcaption>{run_chart(names.get(t, t), runs)}</figure>"
        for t, runs in snapshot.recent_runs.items()
        if runs
    )
    legend = "".join(f'<li><span class="key k-{s}"></span>{esc(s)}</li>' for s in SERIES)
    legend += '<li><span class="key k-held"></span>held back (not applied)</li>'
    more = len(snapshot.districts) - len(snapshot.recent_runs)
    note = (
        f'<p class="muted">{more} more districts have no chart here; see the table.</p>' if more > 0 else ""
    )
    content = (
        f'<div class="charts">{figures}</div><ul class="legend">{legend}</ul>{note}'
        if figures
        else ('<p class="empty">No runs yet.</p>')
    )
    return f'<section id="charts"><h2>Recent runs</h2>{content}</section>'


def _value(run: RunView, series: str) -> int:
    value = int(getattr(run.counts, series))
    # An approved hold applied its deactivations after the run counted them as held.
    if series == "deactivated" and run.state == SyncState.APPROVED:
        value += run.held_deactivations
    return value


def _changes(run: RunView) -> int:
    return sum(_value(run, s) for s in SERIES)


def _held(run: RunView) -> int:
    """Deactivations a run held back and did not apply (waiting for review, or rejected)."""
    return run.held_deactivations if run.state in (SyncState.HELD, SyncState.REJECTED) else 0


def run_chart(district_name: str, runs_newest_first: tuple[RunView, ...]) -> str:
    """An inline SVG: one stacked bar of roster changes per run, oldest on the left, with a
    state mark under each bar (held, failed) and each run's numbers in its tooltip."""
    runs = list(reversed(runs_newest_first))
    width, height, left, bottom, top = 360, 150, 44, 30, 10
    plot_h = height - bottom - top
    slot = (width - left - 8) / max(len(runs), 1)
    bar_w = max(6.0, slot * 0.6)
    peak = max((_changes(r) + _held(r) for r in runs), default=0) or 1
    parts = [
        f'<svg class="run-chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(district_name)}: roster changes per run</title>',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{number(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, run in enumerate(runs):
        x = left + i * slot + (slot - bar_w) / 2
        tip = f"fetched {number(run.counts.fetched)}, " + ", ".join(
            f"{s} {number(_value(run, s))}" for s in SERIES
        )
        tip += f", held back {number(_held(run))}" if _held(run) else ""
        parts.append(
            f'<g class="run st-{esc(run.state)}"><title>{esc(run.run_id)} · {esc(run.kind)} · '
            f"{esc(run.state)} · {esc(tip)}</title>"
        )
        # Stacked from the axis up; what a hold kept back comes last, drawn apart (not applied).
        segments = [(series, _value(run, series)) for series in SERIES] + [("held", _held(run))]
        y: float = top + plot_h
        for series, value in segments:
            if value:
                h = value / peak * plot_h
                y -= h
                parts.append(
                    f'<rect class="s-{series}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}"/>'
                )
        if not any(value for _, value in segments):  # a run that changed nothing still shows it ran
            parts.append(f'<rect class="s-none" x="{x:.1f}" y="{y - 1:.1f}" width="{bar_w:.1f}" height="1"/>')
        mark = {"held": "m-held", "failed": "m-failed", "succeeded": "m-ok"}.get(run.state, "m-other")
        cx = x + bar_w / 2
        parts.append(f'<circle class="{mark}" cx="{cx:.1f}" cy="{top + plot_h + 8}" r="3.5"/>')
        label = run.started_at or run.created_at
        day = label.strftime("%m-%d") if label else ""
        parts.append(f'<text x="{cx:.1f}" y="{height - 6}" text-anchor="middle">{esc(day)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
