"""The message that tells people how a run went: operators always, the district when its
contact is known. Plain words first (what was synced, how long it took, what to fix), ids last.
No roster data: counts and findings only, never a name or an e-mail address. When the HTTP API's
address is known, the report carries the district's own status page link (signed, 14 days)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smartpass.data.districts import District
from smartpass.data.sync_runs import SyncRun, SyncState
from smartpass.operations.district_link import LINK_TTL
from smartpass.sync.health import RosterHealth

KIND_WORDS = {"initial": "first roster sync", "nightly": "nightly roster sync", "manual": "roster sync"}


@dataclass(frozen=True)
class Report:
    subject: str
    text: str
    # For subscribers that filter (SNS message attributes) and for the story of the local stack.
    attributes: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s"


def build_report(
    district: District,
    run: SyncRun,
    state: str,
    why: str,
    health: RosterHealth | None,
    link: str | None = None,
) -> Report:
    """`link`: the district's status page (district_link.py), when the worker could make one."""
    what = KIND_WORDS.get(run.kind, "roster sync")
    name = district.name
    seconds = float(run.seconds or 0)
    lines: list[str] = []
    if state == SyncState.SUCCEEDED.value:
        subject = (
            f"SmartPass is connected to ClassLink: {name}"
            if run.kind == "initial"
            else f"SmartPass sync done: {name}"
        )
        lines.append(f"The {what} of {name} finished in {_duration(seconds)}.")
    elif state == SyncState.HELD.value:
        subject = f"SmartPass sync is held for review: {name}"
        lines += [
            f"The {what} of {name} is held: {why}",
            "Nothing was deactivated. A SmartPass operator reviews the run and approves or rejects it.",
        ]
    else:
        subject = f"SmartPass sync failed: {name}"
        lines += [
            f"The {what} of {name} failed: {why}",
            "Records already received were kept; nothing was deactivated. SmartPass tries again on the "
            "next poll or night.",
        ]
    if health is not None:
        s = health.synced
        lines += [
            "",
            f"Synced: {s['schools']} schools, {s['students']} students, {s['teachers']} teachers, "
            f"{s['staff']} staff.",
        ]
        if health.findings:
            lines += ["", "What to check in ClassLink or your SIS:"]
            for finding in health.findings:
                lines.append(f"- {finding.message} Fix: {finding.fix}")
        else:
            lines += ["", "Roster health: nothing to fix."]
    if link:
        lines += [
            "",
            f"Your district's sync status and what to fix (this link works for {LINK_TTL.days} days):",
            link,
        ]
    lines += ["", f"ClassLink tenant {district.tenant_id}; run {run.run_id}."]
    data = {
        "tenant_id": district.tenant_id,
        "run_id": run.run_id,
        "kind": run.kind,
        "state": state,
        "seconds": round(seconds, 1),
        "synced": health.synced if health else None,
        "findings": [f.as_dict() for f in health.findings] if health else [],
    }
    attributes = {"event": "sync_report", "tenant_id": district.tenant_id, "state": state, "kind": run.kind}
    return Report(subject=subject[:100], text="\n".join(lines), attributes=attributes, data=data)
