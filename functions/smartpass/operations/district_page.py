"""The district's own status page, opened from the link in its report (district_link): how its
last sync went and what to fix in ClassLink or the SIS, in a district IT admin's words.

It shows one district only, and nothing an operator keeps to itself: no contact address, no
operator names, no internal reasons, no roster record; counts and health findings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smartpass.data.base import utcnow
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import TERMINAL_STATES
from smartpass.operations.overview import RunView, run_view
from smartpass.operations.page_layout import badge, esc, number, page, when
from smartpass.sso.district_admin import PATH as HOLDS_PATH

RUNS_READ = 10  # the newest runs searched for the last finished one and the last health check

STATE_WORDS = {
    "connecting": ("Connecting", "SmartPass is connecting to your ClassLink Roster Server."),
    "syncing": ("Syncing", "A roster sync is under way."),
    "active": ("Connected", "SmartPass syncs your roster from ClassLink every night."),
    "held": (
        "Held for review",
        "A sync would have deactivated many records, so nothing was deactivated; a SmartPass operator "
        "or one of your district administrators reviews it.",
    ),
    "paused": (
        "Paused",
        "SmartPass is not syncing your roster. If you did not mean to, check that the SmartPass app is "
        "added and enabled in ClassLink Roster Server.",
    ),
    "error": (
        "Needs attention",
        "The last sync did not finish; SmartPass tries again on the next poll or night.",
    ),
}
OUTCOME_WORDS = {
    "succeeded": "Finished",
    "held": "Held for review (nothing was deactivated)",
    "approved": "Reviewed and applied",
    "rejected": "Reviewed; its deactivations were not applied",
    "failed": "Failed (records already received were kept; nothing was deactivated)",
    "skipped": "Skipped (the district was paused)",
}
KIND_WORDS = {"initial": "First sync", "nightly": "Nightly sync", "manual": "Sync"}


@dataclass(frozen=True)
class DistrictStatus:
    name: str
    state: str
    last_run: RunView | None  # the newest finished run
    last_message: str | None  # why it was held or failed, as the report said
    health_run: RunView | None  # the newest run with a roster health check
    running: bool
    generated_at: datetime


class DistrictGone(LookupError):
    """The link names a district that is no longer here."""


def district_status(stores: Stores, tenant_id: str) -> DistrictStatus:
    district = stores.districts.get(tenant_id)
    if district is None:
        raise DistrictGone(tenant_id)
    runs = [run_view(r) for r in stores.runs.newest(tenant_id, RUNS_READ, consistent=False)]
    last = next((r for r in runs if r.state in TERMINAL_STATES), None)
    summary = district.last_run
    message = (
        summary.message
        if summary is not None and last is not None and summary.run_id == last.run_id
        else None
    )
    return DistrictStatus(
        name=district.name,
        state=district.state,
        last_run=last,
        last_message=message or (last.error if last else None),
        health_run=next((r for r in runs if r.synced or r.health), None),
        running=district.sync_lease_run_id is not None,
        generated_at=utcnow(),
    )


def render_district_page(status: DistrictStatus) -> str:
    state_title, state_text = STATE_WORDS.get(status.state, (status.state, ""))
    body = (
        f'<section id="state"><h2>Connection</h2><p>{badge(status.state, state_title)} {esc(state_text)}</p>'
    )
    if status.running:
        body += "<p>A sync is running now; reload this page in a few minutes.</p>"
    if status.state == "held":
        body += (
            f'<p id="review-link">District administrators can review it themselves: '
            f'<a href="{esc(HOLDS_PATH)}">sign in with ClassLink to see the held sync</a>.</p>'
        )
    body += "</section>" + _last_sync(status) + _health(status.health_run)
    return page(f"{status.name}: SmartPass roster sync", f"As of {when(status.generated_at)}", body)


def _last_sync(status: DistrictStatus) -> str:
    run = status.last_run
    if run is None:
        return (
            '<section id="last-sync"><h2>Last sync</h2>'
            '<p class="empty">No sync has finished yet.</p></section>'
        )
    c = run.counts
    rows = "".join(
        f'<tr><th>{esc(label)}</th><td class="n">{number(value)}</td></tr>'
        for label, value in (
            ("Records received from ClassLink", c.fetched),
            ("Added", c.created),
            ("Updated", c.updated),
            ("Unchanged", c.unchanged),
            ("Deactivated", c.deactivated),
            ("Reactivated", c.reactivated),
            ("Skipped as invalid", c.invalid),
        )
    )
    why = (
        f'<p class="notice">{esc(status.last_message)}</p>'
        if status.last_message and run.state != "succeeded"
        else ""
    )
    return (
        f'<section id="last-sync"><h2>Last sync</h2><p>{esc(KIND_WORDS.get(run.kind, "Sync"))} · '
        f"{when(run.finished_at)} · {badge(run.state, OUTCOME_WORDS.get(run.state, run.state))}</p>{why}"
        f"<table>{rows}</table></section>"
    )


def _health(run: RunView | None) -> str:
    title = '<section id="health"><h2>Roster health</h2>'
    if run is None:
        return (
            title
            + '<p class="empty">No roster health check yet; it comes with the next full sync.</p></section>'
        )
    s = run.synced
    synced = (
        f"<p>Synced on {when(run.finished_at)}: {number(s.get('schools'))} schools, "
        f"{number(s.get('students'))} students, {number(s.get('teachers'))} teachers, "
        f"{number(s.get('staff'))} staff.</p>"
        if s
        else ""
    )
    if not run.health:
        return title + synced + "<p>Nothing to fix.</p></section>"
    findings = "".join(
        f'<div class="finding" data-code="{esc(f.code)}"><p><strong>{esc(f.message)}</strong></p>'
        f"<p>Fix: {esc(f.fix)}</p></div>"
        for f in run.health
    )
    return title + synced + "<p>What to check in ClassLink or your SIS:</p>" + findings + "</section>"


def render_link_refused(expired: bool) -> str:
    """The page for a link that does not open: it says which of the two and what to do, never
    which check failed."""
    headline = "This link has expired" if expired else "This link is not valid"
    text = (
        "Links to your district's SmartPass sync status work for 14 days. "
        if expired
        else "It may be incomplete or changed. "
    ) + "Open the link in the latest SmartPass sync report sent to your district."
    return page(
        headline, "SmartPass roster sync status", f'<section id="refused"><p>{esc(text)}</p></section>'
    )
