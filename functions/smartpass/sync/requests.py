"""The SQS message that asks for one district's sync. Its shape is the contract between the
fan-out (and onboarding) and the worker; the worker rejects anything else as malformed."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from smartpass.data.sync_runs import SyncKind


class SyncRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    kind: SyncKind
    # Stable across retries of the same tick (the schedule's scheduled-time, an invitation id):
    # two messages with the same trigger are the same run.
    trigger: str = Field(min_length=1, max_length=200)
    requested_at: datetime

    def idempotency_key(self) -> str:
        return f"{self.tenant_id}|{self.kind.value}|{self.trigger}"
