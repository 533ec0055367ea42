"""Parts of a run that outlive an invocation (SyncProgress items): the repository the domain
is handed. What a part holds and how it is named is the domain's (smartpass.sync.progress)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from smartpass.data.sync_progress import SyncProgress


class ProgressRepository(Protocol):
    def put(self, parts: Sequence[SyncProgress]) -> None:
        """Store these parts (BatchWriteItem, unprocessed items retried)."""

    def parts(self, run_key: str, prefix: str, keys_only: bool = False) -> Iterator[SyncProgress]:
        """The run's parts whose name starts with `prefix`, in name order (consistent unless
        only their keys are asked for)."""

    def delete(self, parts: Sequence[SyncProgress]) -> None: ...


class DynamoProgress:
    def put(self, parts: Sequence[SyncProgress]) -> None:
        with SyncProgress.batch_write() as batch:
            for part in parts:
                batch.save(part)

    def parts(self, run_key: str, prefix: str, keys_only: bool = False) -> Iterator[SyncProgress]:
        if keys_only:
            return SyncProgress.query(
                run_key, SyncProgress.part.startswith(prefix), attributes_to_get=["run_key", "part"]
            )
        return SyncProgress.query(run_key, SyncProgress.part.startswith(prefix), consistent_read=True)

    def delete(self, parts: Sequence[SyncProgress]) -> None:
        with SyncProgress.batch_write() as batch:
            for part in parts:
                batch.delete(part)
