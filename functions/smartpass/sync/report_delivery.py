"""The report of a finished run: roster health for initial and manual runs, and a report of every
initial run and of every held or failed one, to operators and (where known) the district's
contact.

Roster health reads the district's whole roster. When the run's last piece has too little time
left for it, the report waits for a piece of its own (ReportDeferred: the run is finished, its
lease kept, a continuation sent); a report piece that still runs short sends the report without
the health check and says so."""

from __future__ import annotations

import time
from collections.abc import Callable

from smartpass.data.base import plain_map, utcnow
from smartpass.data.districts import District, RunSummary
from smartpass.data.sync_runs import FailureCode, HealthFinding, SyncRun, SyncState
from smartpass.district_state import record_event
from smartpass.sync.health import HealthOutOfTime, RosterHealth, roster_health
from smartpass.sync.report import build_report
from smartpass.sync.services import SyncServices

HEALTH_NOT_CHECKED = "roster health was not checked: reading the whole roster took longer than an invocation"


class ReportDeferred(Exception):
    """Roster health needs more time than this invocation has left; nothing was sent."""


def send_report(
    run: SyncRun,
    district: District,
    state: str,
    message: str,
    services: SyncServices,
    last: RunSummary | None,
    time_left: Callable[[], float] | None = None,
    last_chance: bool = True,
) -> None:
    """Once per run (a redelivery that finishes a crashed invocation's bookkeeping does not send
    it again), and a failure that repeats the district's last one is not reported again. A report
    that cannot be sent is noted on the run; it never stops the bookkeeping. With `time_left`,
    raises ReportDeferred before sending anything when the health check runs short, unless this
    is the report's `last_chance`."""
    if run.reported_at is not None:
        return
    started = time.thread_time()
    stores = services.stores
    health: RosterHealth | None = None
    findings = list(run.findings or [])
    if state in (SyncState.SUCCEEDED.value, SyncState.HELD.value) and run.kind != "nightly":
        try:
            health = roster_health(stores.roster_reader, district.tenant_id, time_left)
        except HealthOutOfTime:
            if not last_chance:
                raise ReportDeferred from None
            findings.append(HEALTH_NOT_CHECKED)
            stores.runs.update(run, {"findings": findings})
        else:
            stores.runs.update(
                run,
                {
                    "health": [HealthFinding(**f.as_dict()) for f in health.findings],
                    "synced": health.synced,
                },
            )
    if run.kind != "initial" and state not in (SyncState.HELD.value, SyncState.FAILED.value):
        _count_cpu(services, run, started)
        return
    if (
        state == SyncState.FAILED.value
        and last is not None
        and last.state == state
        and last.run_id != run.run_id
    ):
        _count_cpu(services, run, started)
        return  # the same trouble as last time: operators and the district have been told
    link = services.district_link(district.tenant_id) if services.district_link else None
    report = build_report(district, run, state, message, health, link)
    told: list[str] = []
    try:
        services.notify(report)
        told.append("operators")
        # Revoked credentials are usually a rotation the next poll picks up: operators only.
        revoked = run.failure_code == FailureCode.CREDENTIALS_REVOKED.value
        if district.contact_email and services.email is not None and not revoked:
            services.email(district.contact_email, report)
            told.append("the district contact")
    except Exception as exc:  # a bounced address or a throttled topic must not undo the run
        note = f"report not sent to everyone ({type(exc).__name__}); told: {', '.join(told) or 'nobody'}"
        stores.runs.update(run, {"findings": [*(run.findings or []), note]})
    stores.runs.update(run, {"reported_at": utcnow(), "cpu_seconds": _with_report_cpu(run, started)})
    if told:
        record_event(
            stores,
            district.tenant_id,
            "report_sent",
            f"sync-run:{run.run_id}",
            f"{report.subject} (sent to {' and '.join(told)})",
        )


def _with_report_cpu(run: SyncRun, started: float) -> dict[str, float]:
    cpu = {k: float(v) for k, v in plain_map(run.cpu_seconds).items()}
    cpu["report"] = round(cpu.get("report", 0.0) + time.thread_time() - started, 6)
    return cpu


def _count_cpu(services: SyncServices, run: SyncRun, started: float) -> None:
    """Roster health read without a report to send: its CPU still counts (one more write only
    when health was read; a nightly's report phase does next to nothing)."""
    if run.health is not None or run.synced is not None:
        services.stores.runs.update(run, {"cpu_seconds": _with_report_cpu(run, started)})
