"""Saving and loading the parts of a run that span invocations (see data/sync_progress.py)."""

from __future__ import annotations

import json
import secrets
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from smartpass.data.progress_repository import ProgressRepository
from smartpass.data.sync_progress import SyncProgress, run_key

PART_ENTRIES = 4_000  # ids per item: a few hundred KB at most before compression
PROGRESS_TTL = timedelta(days=21)  # a held run can wait this long for an operator

SEEN = "seen"
PENDING = "pending"
HELD = "held"


class ProgressParts:
    """Parts are never overwritten: each attempt of each piece writes under a token of its own,
    so a retried piece cannot replace what an earlier attempt saved with a shorter list, and a
    reader takes the union of all parts."""

    def __init__(self, repository: ProgressRepository, tenant_id: str, run_id: str, now: datetime) -> None:
        self.repository = repository
        self.key = run_key(tenant_id, run_id)
        self.now = now
        self.attempt = secrets.token_hex(4)

    def save(self, kind: str, collection: str, piece: int, entries: list[Any]) -> None:
        chunks = [entries[start : start + PART_ENTRIES] for start in range(0, len(entries), PART_ENTRIES)]
        self.repository.put(
            [
                SyncProgress(
                    self.key,
                    f"{kind}#{collection}#{piece:05d}#{self.attempt}#{n:04d}",
                    blob=zlib.compress(json.dumps(chunk, separators=(",", ":")).encode()),
                    entries=len(chunk),
                    expires_at=self.now + PROGRESS_TTL,
                )
                for n, chunk in enumerate(chunks)
            ]
        )

    def load(self, kind: str, collection: str | None = None) -> Iterator[tuple[str, Any]]:
        """(collection, entry) for every saved entry of this kind (and collection)."""
        prefix = f"{kind}#{collection}#" if collection else f"{kind}#"
        for item in self.repository.parts(self.key, prefix):
            part_collection = item.part.split("#")[1]
            for entry in json.loads(zlib.decompress(item.blob)):
                yield part_collection, entry

    def delete(
        self, kinds: Iterable[str], collection: str | None = None, before_piece: int | None = None
    ) -> None:
        """Delete parts of these kinds (of one collection; of pieces before `before_piece`)."""
        for kind in kinds:
            prefix = f"{kind}#{collection}#" if collection else f"{kind}#"
            parts = [
                part
                for part in self.repository.parts(self.key, prefix, keys_only=True)
                if before_piece is None or int(part.part.split("#")[2]) < before_piece
            ]
            self.repository.delete(parts)
