"""The input every EventBridge Scheduler target receives (template.yaml `Input`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ScheduledTick(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    # <aws.scheduler.scheduled-time>: the same on every retry of one tick, unlike the
    # execution id, so it is the run's idempotency key.
    scheduled_time: datetime
