"""The SQS message that asks for one district's sync. Its shape is the contract between the
fan-out (and onboarding, and operators) and the worker; the worker rejects anything else as
malformed.

One dedupe key: the run id. A new request's run id is derived from (tenant, kind, trigger,
requested_at), so a duplicate or redelivered message names the same run; the producer keeps
`requested_at` stable for one trigger (the fan-out uses the schedule's scheduled-time). A
continuation carries the run id and the number of the piece it starts; Powertools idempotency
and the SyncRun record both key on the run id (with the piece, and the deferral count of a
request that waited for the district's lease).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from smartpass.data.sync_runs import SyncKind, make_run_id

# A ClassLink tenant id as our keys and messages accept it (onboarding checks ids typed by hand
# against the same rule).
TENANT_ID_PATTERN = r"^[0-9A-Za-z_-]{1,32}$"


class SyncRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID_PATTERN)
    kind: SyncKind
    # Stable across retries of the same tick (the schedule's scheduled-time, an invitation id):
    # two messages with the same trigger are the same run.
    trigger: str = Field(min_length=1, max_length=200)
    requested_at: datetime
    # Set on continuations of a checkpointed run (and on deferred retries of any request).
    run_id: str | None = Field(default=None, max_length=200)
    piece: int = Field(default=0, ge=0, le=10_000)
    # How many times this request waited for another run of the district to finish.
    deferrals: int = Field(default=0, ge=0, le=100)

    def resolved_run_id(self) -> str:
        if self.run_id:
            return self.run_id
        identity = f"{self.tenant_id}|{self.kind.value}|{self.trigger}"
        return make_run_id(self.requested_at, self.kind, hashlib.sha256(identity.encode()).hexdigest()[:12])

    def dedupe_key(self) -> str:
        """What makes two deliveries the same work: this run, this piece, this wait."""
        return f"{self.tenant_id}|{self.resolved_run_id()}|{self.piece}|{self.deferrals}"
