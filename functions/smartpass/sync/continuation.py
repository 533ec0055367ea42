"""What follows a request that cannot simply run its piece: the next piece of a checkpointed run,
a wait for another run's lease, and the bookkeeping an interrupted invocation left undone.

A request that finds another run holding the district's lease waits: it is sent again with a
delay, which is a success for the message, never a failure that ends in the DLQ. After
MAX_DEFERRALS waits the run is recorded as failed with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from smartpass.data.base import utcnow
from smartpass.data.districts import District
from smartpass.data.sync_runs import TERMINAL_STATES, SyncRun, SyncState
from smartpass.sync.finish import finish
from smartpass.sync.requests import SyncRequest
from smartpass.sync.services import RequestOutcome, SyncServices

DEFER_SECONDS = 300
MAX_DEFERRALS = 12  # an hour of waiting for another run of the same district


def next_piece(request: SyncRequest, run_id: str, piece: int) -> SyncRequest:
    return request.model_copy(update={"run_id": run_id, "piece": piece, "deferrals": 0})


def finish_what_a_crash_left(
    request: SyncRequest,
    run: SyncRun,
    district: District,
    services: SyncServices,
    outcome: RequestOutcome,
    time_left: Callable[[], float] | None = None,
) -> RequestOutcome:
    """A request whose piece already ran. If the invocation that ran it stopped before its
    bookkeeping was done (no continuation sent, the district still leased to the run), do that
    now; both steps are safe to repeat (a continuation is deduped by its key). The report's own
    piece (numbered past the run's pieces) comes here too: it is the report's last chance."""
    outcome.state = "duplicate"
    pieces = int(run.pieces or 0)
    if run.state == SyncState.RUNNING.value and run.checkpoint is not None and pieces == request.piece + 1:
        services.send(next_piece(request, run.run_id, pieces), 0)
        outcome.notes.append(f"sent piece {pieces} again")
    elif SyncState(run.state) in TERMINAL_STATES and district.sync_lease_run_id == run.run_id:
        outcome.notes.append("finished the bookkeeping of an interrupted invocation")
        last_chance = request.piece >= pieces
        return finish(
            services,
            run,
            district,
            outcome,
            run.state,
            run.error or "",
            time_left=time_left,
            last_chance=last_chance,
        )
    return outcome


def defer(
    request: SyncRequest, run: SyncRun, district: District, services: SyncServices, outcome: RequestOutcome
) -> RequestOutcome:
    if request.deferrals >= MAX_DEFERRALS:
        message = (
            f"another sync of this district ({district.sync_lease_run_id}) kept running for "
            f"{MAX_DEFERRALS * DEFER_SECONDS // 60} minutes; this run gave up waiting"
        )
        services.stores.runs.update(
            run, {"state": SyncState.FAILED.value, "error": message, "finished_at": utcnow()}
        )
        outcome.state = SyncState.FAILED.value
        outcome.notes.append(message)
        return outcome
    services.send(request.model_copy(update={"deferrals": request.deferrals + 1}), DEFER_SECONDS)
    outcome.state = "deferred"
    outcome.notes.append(f"district busy with run {district.sync_lease_run_id}")
    return outcome
