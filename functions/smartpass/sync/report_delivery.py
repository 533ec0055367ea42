"""The report of a finished run: roster health for initial and manual runs, and a report of every
initial run and of every held or failed one, to operators and (where known) the district's
contact."""

from __future__ import annotations

from smartpass.data.base import utcnow
from smartpass.data.districts import District, RunSummary
from smartpass.data.sync_runs import FailureCode, HealthFinding, SyncRun, SyncState
from smartpass.district_state import record_event
from smartpass.sync.health import roster_health
from smartpass.sync.report import build_report
from smartpass.sync.services import SyncServices


def send_report(
    run: SyncRun,
    district: District,
    state: str,
    message: str,
    services: SyncServices,
    last: RunSummary | None,
) -> None:
    """Once per run (a redelivery that finishes a crashed invocation's bookkeeping does not send
    it again), and a failure that repeats the district's last one is not reported again. A report
    that cannot be sent is noted on the run; it never stops the bookkeeping."""
    if run.reported_at is not None:
        return
    stores = services.stores
    health = None
    if state in (SyncState.SUCCEEDED.value, SyncState.HELD.value) and run.kind != "nightly":
        health = roster_health(stores.roster_reader, district.tenant_id)
        stores.runs.update(
            run,
            {
                "health": [HealthFinding(**f.as_dict()) for f in health.findings],
                "synced": health.synced,
            },
        )
    if run.kind != "initial" and state not in (SyncState.HELD.value, SyncState.FAILED.value):
        return
    if (
        state == SyncState.FAILED.value
        and last is not None
        and last.state == state
        and last.run_id != run.run_id
    ):
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
    stores.runs.update(run, {"reported_at": utcnow()})
    if told:
        record_event(
            stores,
            district.tenant_id,
            "report_sent",
            f"sync-run:{run.run_id}",
            f"{report.subject} (sent to {' and '.join(told)})",
        )
