"""Handling one sync request: open (or find) its run, take the district's lease, run a piece,
record the outcome on the run, and say what happens next.

- One dedupe key: the run id (requests.py). A duplicate of a request whose run already ended, or
  whose piece already ran, does nothing (continuation.py finishes what a crash left).
- One run per district at a time: the lease (lease.py); a request that finds it taken waits.
  A continuation never takes a lost lease back: its run ends failed (another run took over).
- A run that must continue saves its checkpoint, keeps the lease, and sends its next piece;
  a run that ends is finished (finish.py): states, report, lease released. A report that needs
  more time than is left gets a piece of its own.
- Something unforeseen (DynamoDB throttled past the SDK's retries, a bug) fails the message, so
  SQS delivers it again and the piece runs again from the run's last checkpoint; on the last
  delivery before the DLQ the run fails cleanly instead, so no district is left `syncing`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartpass.data.base import utcnow
from smartpass.data.changes import Increment
from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import TERMINAL_STATES, SyncRun, SyncState
from smartpass.district_state import set_district_state
from smartpass.sync.connection import ConnectionUnavailable
from smartpass.sync.continuation import defer, finish_what_a_crash_left, next_piece
from smartpass.sync.finish import finish
from smartpass.sync.lease import CONTINUATION_LEASE, LEASE_LOST, acquire_lease, renew_lease
from smartpass.sync.piece import PAUSED_DURING_THE_RUN, PHASES, PieceResult, run_piece
from smartpass.sync.report_delivery import ReportDeferred
from smartpass.sync.requests import SyncRequest
from smartpass.sync.services import RequestOutcome, SyncServices, UnknownDistrict

ONBOARDING_TRIGGERS = frozenset({"onboarding", "sharing-resumed"})
# Runs of these kinds may start while the district is in these states. A paused district is
# never synced; a held one only by an operator's manual run (which re-decides the hold).
STARTABLE: dict[str, frozenset[str]] = {
    "initial": frozenset({"connecting", "error", "active", "syncing"}),
    "nightly": frozenset({"active", "error", "syncing"}),
    "manual": frozenset({"connecting", "active", "error", "held", "syncing"}),
}


def open_run(services: SyncServices, request: SyncRequest) -> tuple[SyncRun, bool]:
    """Return (run, created). `created` is False when this request's run already exists."""
    run = SyncRun(
        tenant_id=request.tenant_id,
        run_id=request.resolved_run_id(),
        kind=request.kind.value,
        trigger=request.trigger,
        state=SyncState.QUEUED.value,
    )
    if services.stores.runs.add(run):
        return run, True
    existing = services.stores.runs.get(request.tenant_id, run.run_id)
    assert existing is not None  # a run is never deleted
    return existing, False


def why_not_now(request: SyncRequest, district: District) -> str | None:
    """Why this request's run ends at once without syncing (it is recorded as skipped), or None."""
    if request.piece == 0 and district.state not in STARTABLE[request.kind.value]:
        return f"district is {district.state}"
    if request.piece > 0 and district.state == DistrictState.PAUSED.value:
        # Paused while the run was under way (by an operator, or ClassLink's app disabled): the
        # pieces already done stay written, nothing more is pulled and nothing is deactivated.
        return PAUSED_DURING_THE_RUN
    if request.piece == 0 and superseded(request, district):
        return "a newer onboarding sync replaced it"
    return None


def superseded(request: SyncRequest, district: District) -> bool:
    """An onboarding request (initial, or the catch-up after a resume) that is no longer the
    district's current one: the district was paused and resumed, or registered again, while it
    waited in the queue. Running it too would sync and report twice."""
    if request.trigger not in ONBOARDING_TRIGGERS or not district.onboarding_request:
        return False
    current = SyncRequest.model_validate_json(district.onboarding_request)
    return current.resolved_run_id() != request.resolved_run_id()


def handle_request(
    request: SyncRequest,
    services: SyncServices,
    time_left: Callable[[], float],
    last_delivery: bool = True,
) -> RequestOutcome:
    """`last_delivery`: SQS will not deliver this message again (the next failure goes to the
    DLQ), so anything unforeseen ends the run cleanly rather than failing the message."""
    stores = services.stores
    district = stores.districts.get(request.tenant_id)
    if district is None:
        raise UnknownDistrict(f"no district with tenant id {request.tenant_id}")
    run, _ = open_run(services, request)
    outcome = RequestOutcome(request.tenant_id, run.run_id, run.state, request.piece)
    if SyncState(run.state) in TERMINAL_STATES or int(run.pieces or 0) > request.piece:
        return _reporting(
            request,
            run,
            district,
            services,
            outcome,
            lambda: finish_what_a_crash_left(request, run, district, services, outcome, time_left),
        )
    skipped = why_not_now(request, district)
    if skipped is not None:
        return finish(services, run, district, outcome, SyncState.SKIPPED.value, skipped, report=False)
    if request.piece > 0 and not renew_lease(stores, district, run.run_id, time_left()):
        # The continuation waited past its lease and another run took the district: this run
        # writes nothing more (its pieces so far stay written, nothing was deactivated).
        return finish(services, run, district, outcome, SyncState.FAILED.value, LEASE_LOST)
    if request.piece == 0 and not acquire_lease(stores, district, run.run_id, time_left()):
        return defer(request, run, district, services, outcome)

    if request.piece == 0:
        stores.runs.update(
            run,
            {
                "state": SyncState.RUNNING.value,
                "started_at": utcnow(),
                "lease_fence": district.sync_lease_fence,
            },
        )
        if district.state != DistrictState.PAUSED.value:
            set_district_state(
                stores,
                district,
                DistrictState.SYNCING.value,
                f"{request.kind.value} sync running",
                None,
                f"sync-run:{run.run_id}",
                lease_run_id=run.run_id,
            )
    try:
        client = services.connect(district)
    except ConnectionUnavailable as exc:
        # No usable secret: the next poll stores the district's connection again.
        stores.districts.update(district, {"connection_ok": False})
        return finish(services, run, district, outcome, SyncState.FAILED.value, str(exc))
    try:
        result, checkpoint = run_piece(stores, run, district, client, request.piece, time_left)
    except Exception as exc:
        if not last_delivery:
            raise  # SQS delivers the message again; the piece runs again from the checkpoint
        # The last delivery: end the run cleanly rather than leave the district stuck.
        outcome.notes.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        message = f"the sync stopped on an unexpected {type(exc).__name__}; nothing was deactivated"
        return finish(services, run, district, outcome, SyncState.FAILED.value, message)
    outcome.result = result
    changes: dict[str, Any] = {
        "counts": result.counts,
        "requests": Increment(result.requests),
        "retries": Increment(result.retries),
        "seconds": Increment(result.seconds),
        "pieces": request.piece + 1,
        "findings": result.findings,
        "invalid_records": run.invalid_records or [],
        "cpu_seconds": summed_cpu(run, result),
    }
    if checkpoint is not None:
        stores.runs.update(run, {**changes, "checkpoint": checkpoint})
        # Held for the whole wait in the queue: no other run may start between two pieces.
        acquire_lease(stores, district, run.run_id, CONTINUATION_LEASE.total_seconds())
        services.send(next_piece(request, run.run_id, request.piece + 1), 0)
        outcome.state = "continued"
        return outcome
    stores.runs.update(run, {**changes, "checkpoint": None, "held_deactivations": result.held})
    return _reporting(
        request,
        run,
        district,
        services,
        outcome,
        lambda: finish(
            services,
            run,
            district,
            outcome,
            result.state,
            result.message,
            time_left=time_left,
            last_chance=False,
        ),
    )


def summed_cpu(run: SyncRun, result: PieceResult) -> dict[str, float]:
    """The run's CPU seconds per phase with this piece's added (pieces run one at a time)."""
    earlier = {k: float(v) for k, v in dict(run.cpu_seconds.as_dict() if run.cpu_seconds else {}).items()}
    return {
        name: round(earlier.get(name, 0.0) + result.cpu_seconds.get(name, 0.0), 6)
        for name in PHASES
        if name in earlier or name in result.cpu_seconds
    }


def _reporting(
    request: SyncRequest,
    run: SyncRun,
    district: District,
    services: SyncServices,
    outcome: RequestOutcome,
    finishing: Callable[[], RequestOutcome],
) -> RequestOutcome:
    """Finish the run; when its report needs more time than is left, send the report's own piece
    (the run is finished and keeps the lease until the report is out)."""
    try:
        return finishing()
    except ReportDeferred:
        acquire_lease(services.stores, district, run.run_id, CONTINUATION_LEASE.total_seconds())
        piece = max(request.piece + 1, int(run.pieces or 0))
        services.send(next_piece(request, run.run_id, piece), 0)
        outcome.state = "continued"
        outcome.notes.append(f"the report waits for piece {piece}: roster health needs a whole invocation")
        return outcome
