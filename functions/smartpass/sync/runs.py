"""Opening a sync run: the one place a SyncRun record is created for a request.

The run id is derived from the request, so a duplicate or redelivered SQS message finds the run
it already opened instead of starting a second one.
"""

from __future__ import annotations

import hashlib

from pynamodb.exceptions import PutError

from smartpass.data.districts import District
from smartpass.data.sync_runs import SyncRun, SyncState, make_run_id
from smartpass.sync.requests import SyncRequest


class UnknownDistrict(LookupError):
    """The message names a tenant we have no District row for."""


def run_id_for(request: SyncRequest) -> str:
    digest = hashlib.sha256(request.idempotency_key().encode()).hexdigest()[:12]
    return make_run_id(request.requested_at, request.kind, digest)


def open_run(request: SyncRequest) -> tuple[SyncRun, bool]:
    """Return (run, created). `created` is False when this request was already seen."""
    try:
        District.get(request.tenant_id)
    except District.DoesNotExist:
        raise UnknownDistrict(f"no district with tenant id {request.tenant_id}") from None
    run = SyncRun(
        tenant_id=request.tenant_id,
        run_id=run_id_for(request),
        kind=request.kind.value,
        trigger=request.trigger,
        state=SyncState.QUEUED.value,
    )
    try:
        run.save(condition=SyncRun.run_id.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return SyncRun.get(request.tenant_id, run.run_id), False
    return run, True
