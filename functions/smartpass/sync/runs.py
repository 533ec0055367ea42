"""Handling one sync request: open (or find) its run, take the district's lease, run a piece,
record the outcome on the run and the district, and say what happens next.

- One dedupe key: the run id (requests.py). A duplicate of a request whose run already ended, or
  whose piece already ran, does nothing.
- One run per district at a time: a lease on the District row (a conditional write with an
  expiry). A request that finds another run holding it waits: it is sent again with a delay,
  which is a success for the message, never a failure that ends in the DLQ. After
  MAX_DEFERRALS waits the run is recorded as failed with the reason.
- A run that must continue saves its checkpoint, keeps the lease, and sends its next piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from pynamodb.exceptions import PutError, UpdateError

from smartpass.classlink.oneroster import OneRosterClient
from smartpass.data.base import utcnow
from smartpass.data.district_history import change_state, record_event
from smartpass.data.districts import District, DistrictState, RunSummary
from smartpass.data.sync_runs import TERMINAL_STATES, HealthFinding, SyncRun, SyncState
from smartpass.sync.connection import ConnectionUnavailable
from smartpass.sync.health import roster_health
from smartpass.sync.report import Report, build_report
from smartpass.sync.requests import SyncRequest
from smartpass.sync.runner import PieceResult, run_piece

LEASE_MARGIN = timedelta(minutes=15)  # beyond the invocation's own time
# Between pieces the lease covers the wait in the queue (an hour's backlog raises an alarm);
# a run that ends for any reason releases it at once.
CONTINUATION_LEASE = timedelta(hours=6)
DEFER_SECONDS = 300
ONBOARDING_TRIGGERS = frozenset({"onboarding", "sharing-resumed"})
MAX_DEFERRALS = 12  # an hour of waiting for another run of the same district
# Runs of these kinds may start while the district is in these states. A paused district is
# never synced; a held one only by an operator's manual run (which re-decides the hold).
STARTABLE: dict[str, frozenset[str]] = {
    "initial": frozenset({"connecting", "error", "active", "syncing"}),
    "nightly": frozenset({"active", "error", "syncing"}),
    "manual": frozenset({"connecting", "active", "error", "held", "syncing"}),
}


class UnknownDistrict(LookupError):
    """The message names a tenant we have no District row for."""


@dataclass
class SyncServices:
    """What a sync needs from outside the domain; the handler builds it."""

    connect: Callable[[District], OneRosterClient]
    send: Callable[[SyncRequest, int], None]  # a request to the sync queue, with a delay (s)
    notify: Callable[[Report], None]  # to operators (the operator topic)
    email: Callable[[str, Report], None] | None = None  # to a district contact, if set up
    # the district status page's signed link for a report (None: no link in the report)
    district_link: Callable[[str], str | None] | None = None


@dataclass
class RequestOutcome:
    tenant_id: str
    run_id: str
    state: str  # a SyncState, "continued", "deferred" or "duplicate"
    piece: int
    result: PieceResult | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tenant_id": self.tenant_id, "run_id": self.run_id, "state": self.state}
        out["piece"] = self.piece
        if self.result is not None:
            out["counts"] = self.result.counts["total"]
            out["requests"] = self.result.requests
            out["retries"] = self.result.retries
            out["seconds"] = self.result.seconds
        if self.reason:
            out["reason"] = self.reason
        return out


def open_run(request: SyncRequest) -> tuple[SyncRun, bool]:
    """Return (run, created). `created` is False when this request's run already exists."""
    run = SyncRun(
        tenant_id=request.tenant_id,
        run_id=request.resolved_run_id(),
        kind=request.kind.value,
        trigger=request.trigger,
        state=SyncState.QUEUED.value,
    )
    try:
        run.save(condition=SyncRun.run_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return SyncRun.get(request.tenant_id, run.run_id, consistent_read=True), False
    return run, True


def acquire_lease(district: District, run_id: str, seconds: float) -> bool:
    now = utcnow()
    free = (
        District.sync_lease_run_id.does_not_exist()
        | (District.sync_lease_run_id == run_id)
        | (District.sync_lease_expires_at < now)
    )
    try:
        district.update(
            actions=[
                District.sync_lease_run_id.set(run_id),
                District.sync_lease_expires_at.set(now + timedelta(seconds=seconds) + LEASE_MARGIN),
            ],
            condition=free,
            add_version_condition=False,
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release_lease(district: District, run_id: str) -> None:
    try:
        district.update(
            actions=[District.sync_lease_run_id.remove(), District.sync_lease_expires_at.remove()],
            condition=District.sync_lease_run_id == run_id,
            add_version_condition=False,
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def set_district_state(
    district: District, state: str, reason: str, summary: RunSummary | None, actor: str, *extra: Any
) -> None:
    """Set the district's state (recorded in its history with `actor`), unless onboarding paused
    it meanwhile (the pause wins: the district removed or disabled the app). The last run is
    recorded either way."""
    if district.state != state or (district.state_reason or "") != reason:
        change_state(
            district,
            state,
            reason,
            actor,
            extra=extra,
            condition=District.state != DistrictState.PAUSED.value,
        )
    elif extra:
        district.update(actions=list(extra), add_version_condition=False)
    if summary is not None:
        district.update(actions=[District.last_run.set(summary)], add_version_condition=False)


def handle_request(
    request: SyncRequest, services: SyncServices, time_left: Callable[[], float]
) -> RequestOutcome:
    try:
        district = District.get(request.tenant_id, consistent_read=True)
    except District.DoesNotExist:
        raise UnknownDistrict(f"no district with tenant id {request.tenant_id}") from None
    run, _ = open_run(request)
    outcome = RequestOutcome(request.tenant_id, run.run_id, run.state, request.piece)
    if SyncState(run.state) in TERMINAL_STATES or int(run.pieces or 0) > request.piece:
        return _finish_what_a_crash_left(request, run, district, services, outcome)
    if request.piece == 0 and district.state not in STARTABLE[request.kind.value]:
        return _finish(run, district, outcome, SyncState.SKIPPED.value, f"district is {district.state}")
    if request.piece > 0 and district.state == DistrictState.PAUSED.value:
        # Paused while the run was under way (by an operator, or ClassLink's app disabled): the
        # pieces already done stay written, nothing more is pulled and nothing is deactivated.
        message = "the district was paused during the run; nothing was deactivated"
        return _finish(run, district, outcome, SyncState.SKIPPED.value, message)
    if request.piece == 0 and _superseded(request, district):
        return _finish(run, district, outcome, SyncState.SKIPPED.value, "a newer onboarding sync replaced it")
    if not acquire_lease(district, run.run_id, time_left()):
        return _defer(request, run, district, services, outcome)

    if request.piece == 0:
        run.update(actions=[SyncRun.state.set(SyncState.RUNNING.value), SyncRun.started_at.set(utcnow())])
        if district.state != DistrictState.PAUSED.value:
            set_district_state(
                district,
                DistrictState.SYNCING.value,
                f"{request.kind.value} sync running",
                None,
                f"sync-run:{run.run_id}",
            )
    try:
        client = services.connect(district)
    except ConnectionUnavailable as exc:
        # No usable secret: the next poll stores the district's connection again.
        district.update(actions=[District.connection_ok.set(False)], add_version_condition=False)
        return _finish(run, district, outcome, SyncState.FAILED.value, str(exc), services)
    try:
        result, checkpoint = run_piece(run, district, client, request.piece, time_left)
    except Exception as exc:  # anything unforeseen: end the run cleanly rather than leave it stuck
        outcome.notes.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        message = f"the sync stopped on an unexpected {type(exc).__name__}; nothing was deactivated"
        return _finish(run, district, outcome, SyncState.FAILED.value, message, services)
    outcome.result = result
    actions: list[Any] = [
        SyncRun.counts.set(result.counts),
        SyncRun.requests.add(result.requests),
        SyncRun.retries.add(result.retries),
        SyncRun.seconds.add(result.seconds),
        SyncRun.pieces.set(request.piece + 1),
        SyncRun.findings.set(cast("Any", result.findings)),
        SyncRun.invalid_records.set(run.invalid_records or []),
    ]
    if checkpoint is not None:
        run.update(actions=[*actions, SyncRun.checkpoint.set(checkpoint)])
        # Held for the whole wait in the queue: no other run may start between two pieces.
        acquire_lease(district, run.run_id, CONTINUATION_LEASE.total_seconds())
        services.send(_continuation(request, run.run_id, request.piece + 1), 0)
        outcome.state = "continued"
        return outcome
    run.update(actions=[*actions, SyncRun.checkpoint.remove(), SyncRun.held_deactivations.set(result.held)])
    return _finish(run, district, outcome, result.state, result.message, services)


def _superseded(request: SyncRequest, district: District) -> bool:
    """An onboarding request (initial, or the catch-up after a resume) that is no longer the
    district's current one: the district was paused and resumed, or registered again, while it
    waited in the queue. Running it too would sync and report twice."""
    if request.trigger not in ONBOARDING_TRIGGERS or not district.onboarding_request:
        return False
    current = SyncRequest.model_validate_json(district.onboarding_request)
    return current.resolved_run_id() != request.resolved_run_id()


def _continuation(request: SyncRequest, run_id: str, piece: int) -> SyncRequest:
    return request.model_copy(update={"run_id": run_id, "piece": piece, "deferrals": 0})


def _finish_what_a_crash_left(
    request: SyncRequest, run: SyncRun, district: District, services: SyncServices, outcome: RequestOutcome
) -> RequestOutcome:
    """A request whose piece already ran. If the invocation that ran it stopped before its
    bookkeeping was done (no continuation sent, the district still leased to the run), do that
    now; both steps are safe to repeat (a continuation is deduped by its key)."""
    outcome.state = "duplicate"
    pieces = int(run.pieces or 0)
    if run.state == SyncState.RUNNING.value and run.checkpoint is not None and pieces == request.piece + 1:
        services.send(_continuation(request, run.run_id, pieces), 0)
        outcome.notes.append(f"sent piece {pieces} again")
    elif SyncState(run.state) in TERMINAL_STATES and district.sync_lease_run_id == run.run_id:
        outcome.notes.append("finished the bookkeeping of an interrupted invocation")
        return _finish(run, district, outcome, run.state, run.error or "", services)
    return outcome


def _finish(
    run: SyncRun,
    district: District,
    outcome: RequestOutcome,
    state: str,
    message: str,
    services: SyncServices | None = None,
) -> RequestOutcome:
    previous_run = district.last_run  # before this run's summary replaces it
    now = utcnow()
    run.update(
        actions=[
            SyncRun.state.set(state),
            SyncRun.finished_at.set(now),
            # why it failed, or why it was skipped (paused, superseded)
            SyncRun.error.set(message)
            if state in (SyncState.FAILED.value, SyncState.SKIPPED.value) and message
            else SyncRun.error.remove(),
        ]
    )
    outcome.state = state
    outcome.reason = message
    counts = outcome.result.counts["total"] if outcome.result else None
    summary = RunSummary(
        run_id=run.run_id, kind=run.kind, state=state, finished_at=now, message=message or None
    )
    if counts is not None:
        summary.counts = counts
    district_state = {
        SyncState.SUCCEEDED.value: DistrictState.ACTIVE.value,
        SyncState.HELD.value: DistrictState.HELD.value,
        SyncState.FAILED.value: DistrictState.ERROR.value,
    }.get(state)
    revoked = outcome.result is not None and outcome.result.revoked
    extra: list[Any] = []
    if revoked:
        # the mark of revoked access; onboarding's next poll checks the connection again
        extra += [District.sharing_enabled.set(False), District.connection_ok.set(False)]
    if state == SyncState.SUCCEEDED.value:
        extra.append(District.connect_attempts.set(0))
        if district.first_synced_at is None:
            extra.append(District.first_synced_at.set(now))
    if district_state is not None:
        set_district_state(
            district,
            district_state,
            f"{run.kind} sync succeeded" if state == SyncState.SUCCEEDED.value else message,
            summary,
            f"sync-run:{run.run_id}",
            *extra,
        )
    if services is not None:
        _report(run, district, state, message, services, previous_run)
    # Last: while the lease still names this run, a redelivery knows the bookkeeping is unfinished.
    release_lease(district, run.run_id)
    return outcome


def _report(
    run: SyncRun,
    district: District,
    state: str,
    message: str,
    services: SyncServices,
    last: RunSummary | None,
) -> None:
    """Roster health for initial and manual runs; a report of every initial run and of every
    held or failed one, to operators and (where known) the district's contact. Once per run
    (a redelivery that finishes a crashed invocation's bookkeeping does not send it again), and
    a failure that repeats the district's last one is not reported again. A report that cannot
    be sent is noted on the run; it never stops the bookkeeping."""
    if run.reported_at is not None:
        return
    health = None
    if state in (SyncState.SUCCEEDED.value, SyncState.HELD.value) and run.kind != "nightly":
        health = roster_health(district.tenant_id)
        run.update(
            actions=[
                SyncRun.health.set([HealthFinding(**f.as_dict()) for f in health.findings]),
                SyncRun.synced.set(cast("Any", health.synced)),
            ]
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
        revoked = "refused our credentials" in message
        if district.contact_email and services.email is not None and not revoked:
            services.email(district.contact_email, report)
            told.append("the district contact")
    except Exception as exc:  # a bounced address or a throttled topic must not undo the run
        note = f"report not sent to everyone ({type(exc).__name__}); told: {', '.join(told) or 'nobody'}"
        run.update(actions=[SyncRun.findings.set(cast("Any", [*(run.findings or []), note]))])
    run.update(actions=[SyncRun.reported_at.set(utcnow())])
    if told:
        record_event(
            district.tenant_id,
            "report_sent",
            f"sync-run:{run.run_id}",
            f"{report.subject} (sent to {' and '.join(told)})",
        )


def _defer(
    request: SyncRequest, run: SyncRun, district: District, services: SyncServices, outcome: RequestOutcome
) -> RequestOutcome:
    if request.deferrals >= MAX_DEFERRALS:
        message = (
            f"another sync of this district ({district.sync_lease_run_id}) kept running for "
            f"{MAX_DEFERRALS * DEFER_SECONDS // 60} minutes; this run gave up waiting"
        )
        run.update(
            actions=[
                SyncRun.state.set(SyncState.FAILED.value),
                SyncRun.error.set(message),
                SyncRun.finished_at.set(utcnow()),
            ]
        )
        outcome.state = SyncState.FAILED.value
        outcome.notes.append(message)
        return outcome
    services.send(request.model_copy(update={"deferrals": request.deferrals + 1}), DEFER_SECONDS)
    outcome.state = "deferred"
    outcome.notes.append(f"district busy with run {district.sync_lease_run_id}")
    return outcome
