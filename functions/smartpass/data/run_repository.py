"""Sync runs (SyncRun items): the repository the domain is handed.

Updates of a run carry its version (PynamoDB's VersionAttribute): two writers of one run never
both succeed from the same reading; the loser's write raises, and its message is retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pynamodb.exceptions import PutError, UpdateError

from smartpass.data import changes as wire
from smartpass.data.changes import Changes, Expectations
from smartpass.data.sync_runs import SyncRun


class RunRepository(Protocol):
    def add(self, run: SyncRun) -> bool:
        """Store a new run; False when a run with its id exists already."""

    def get(self, tenant_id: str, run_id: str) -> SyncRun | None:
        """The run as last written (a consistent read), or None."""

    def newest(
        self, tenant_id: str, limit: int, consistent: bool = True, attributes: Sequence[str] = ()
    ) -> list[SyncRun]:
        """The district's latest runs, newest first; with `attributes`, only those of each."""

    def after(self, tenant_id: str, run_id: str) -> list[SyncRun]:
        """The district's runs started after `run_id`, oldest first."""

    def all(self) -> list[SyncRun]:
        """Every run of every district (an eventually consistent scan: for the local stack's
        story, never for a deployed stack's hot path)."""

    def update(self, run: SyncRun, changes: Changes, expect: Expectations = ()) -> bool:
        """Write `changes` (and update the object). Without expectations, an error when the run
        changed since it was read (its version); with them, False when they do not hold or the
        run changed (DynamoDB tells the two apart no better than one ConditionalCheckFailed)."""


class DynamoRuns:
    def add(self, run: SyncRun) -> bool:
        try:
            run.save(condition=SyncRun.run_id.does_not_exist())
        except PutError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        return True

    def get(self, tenant_id: str, run_id: str) -> SyncRun | None:
        try:
            return SyncRun.get(tenant_id, run_id, consistent_read=True)
        except SyncRun.DoesNotExist:
            return None

    def newest(
        self, tenant_id: str, limit: int, consistent: bool = True, attributes: Sequence[str] = ()
    ) -> list[SyncRun]:
        return list(
            SyncRun.query(
                tenant_id,
                scan_index_forward=False,
                limit=limit,
                consistent_read=consistent,
                attributes_to_get=list(attributes) or None,
            )
        )

    def after(self, tenant_id: str, run_id: str) -> list[SyncRun]:
        return list(SyncRun.query(tenant_id, SyncRun.run_id > run_id, consistent_read=True))

    def all(self) -> list[SyncRun]:
        return list(SyncRun.scan())

    def update(self, run: SyncRun, changes: Changes, expect: Expectations = ()) -> bool:
        try:
            run.update(actions=wire.actions(SyncRun, changes), condition=wire.condition(SyncRun, expect))
        except UpdateError as exc:
            if expect and wire.condition_failed(exc):
                return False
            raise
        return True
