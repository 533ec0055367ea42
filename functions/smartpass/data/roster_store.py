"""Roster records of one collection of one district, as a sync reads and writes them: the
`RosterStore` protocol the domain is handed, `DynamoRosterStore` over the roster tables, and
`RosterReader` for whole-partition reads (roster health).

The only place a sync writes roster records. Every write here is a change:
- `create`: a record we have never had (batched, 25 per BatchWriteItem);
- `update`: a record whose stored fields changed, or that returns after a deactivation. An
  UpdateItem, so attributes the sync does not own (the ClassLink UserId stored at first login,
  the last login time) survive;
- `deactivate`: soft, conditional on the record still being active (and, for an approved hold,
  still having the content it had when the hold was decided). Nothing is ever deleted.

Fencing: a run's store carries the run's lease fencing token (`fence`) and stamps it on every
record it writes (`sync_fence`). An update or deactivation is conditional on the record not
bearing a larger token: a run that lost its lease (and whose successor already wrote the record)
cannot undo the newer write; such an update raises `Fenced`. Creates go out in BatchWriteItem,
which takes no condition: the run checks its lease before each page instead (sync/piece.py).

CPU: the seconds the writer threads spend on this store's writes (`writer_cpu_seconds`), so the
worker's CPU per phase counts what it hands to them (one clock read per task, not per record).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from pynamodb.exceptions import UpdateError

from smartpass.data import changes as wire
from smartpass.data.pynamodb_internals import table_connection
from smartpass.data.roster import RosterRecord

# A record's stored fields by attribute name (None removes one on update).
Attributes = Mapping[str, Any]


def hash_int(digest: str) -> int:
    """A stored hex content hash as an int; anything unreadable as 0, which no real content
    hashes to in practice, so the record is rewritten with a proper hash."""
    try:
        return int(digest, 16)
    except ValueError:
        return 0


WRITE_THREADS = 4
ITEMS_PER_TASK = 100  # four BatchWriteItem calls of 25


@functools.cache
def _writers() -> ThreadPoolExecutor:
    """Writes go out on a few threads while the next records are parsed: DynamoDB (or moto)
    answers each call in milliseconds, and waiting for each in turn would leave the CPU idle.
    Created on first use and kept for the life of the process (warm invocations reuse it)."""
    return ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="roster-writes")


def _held(item: dict[str, Any]) -> tuple[str, int]:
    digest = hash_int(item.get("content_hash", {}).get("S", ""))
    return item["sourced_id"]["S"], digest if item.get("active", {}).get("BOOL") else ~digest


class Fenced(Exception):
    """A record was written by a run holding a newer lease: this run has lost its lease."""


class RosterStore(Protocol):
    def existing(self) -> dict[str, int | None]: ...
    def held(self) -> Iterator[tuple[str, int]]: ...
    def lookup(self, sourced_ids: Sequence[str]) -> dict[str, int]: ...
    def writer_cpu_seconds(self) -> float: ...
    def create(self, sourced_id: str, attributes: Attributes, digest: str) -> None: ...
    def flush(self) -> None: ...
    def update(self, sourced_id: str, attributes: Attributes, digest: str, *, reactivate: bool) -> None: ...
    def deactivate_many(self, entries: list[tuple[str, str, str]]) -> int: ...
    def deactivate(self, sourced_id: str, reason: str, expected_hash: str | None = None) -> bool: ...


class RosterStores(Protocol):
    """(model, tenant id, run id, now[, fence]) -> the store of that collection for that run."""

    def __call__(
        self, model: type[RosterRecord], tenant_id: str, run_id: str, now: datetime, fence: int | None = None
    ) -> RosterStore: ...


class RosterReader(Protocol):
    def records(self, model: type[RosterRecord], tenant_id: str, attributes: Sequence[str]) -> Iterator[Any]:
        """Every record of the district in one collection, with these attributes only."""


class DynamoRosterReader:
    def records(self, model: type[RosterRecord], tenant_id: str, attributes: Sequence[str]) -> Iterator[Any]:
        return model.query(tenant_id, attributes_to_get=list(attributes))


class DynamoRosterStore:
    def __init__(
        self, model: type[RosterRecord], tenant_id: str, run_id: str, now: datetime, fence: int | None = None
    ) -> None:
        self.model = model
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.now = now
        self.fence = fence
        self._creates: list[RosterRecord] = []
        self._in_flight: list[Future[None]] = []
        self._cpu = 0.0
        self._cpu_lock = threading.Lock()

    def writer_cpu_seconds(self) -> float:
        with self._cpu_lock:
            return self._cpu

    def _count_cpu(self, started: float) -> None:
        spent = time.thread_time() - started
        with self._cpu_lock:
            self._cpu += spent

    def _stamp(self) -> list[Any]:
        return [] if self.fence is None else [self.model.sync_fence.set(self.fence)]

    def _not_newer(self) -> Any:
        """The record bears no newer run's token (records from before fencing bear none)."""
        field = self.model.sync_fence
        return None if self.fence is None else field.does_not_exist() | (field <= self.fence)

    def existing(self) -> dict[str, int | None]:
        """sourcedId -> stored content hash as an int, bit-inverted (negative) when the record
        is inactive. Read page by page with the low-level query and only three attributes:
        memory grows with the number of records (about 150 bytes each), not their fields."""
        return dict(self.held())

    def held(self) -> Iterator[tuple[str, int]]:
        """(sourcedId, stored hash as in `existing`) of every record we hold, streamed."""
        start_key = None
        while True:
            page = self._query(None, start_key)
            yield from (_held(item) for item in page.get("Items", []))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return

    def lookup(self, sourced_ids: Sequence[str]) -> dict[str, int]:
        """What `existing` says of these sourcedIds only (absent: never stored). One Query over
        the key range they span: a page of ClassLink's, sorted by sourcedId, is usually close
        to a range of ours, so this reads about the page. Nothing assumes ClassLink's collation
        is DynamoDB's byte order, though: when the range holds far more than was asked for, the
        rest are read by key (BatchGetItem) instead."""
        wanted = set(sourced_ids)
        found: dict[str, int] = {}
        if not wanted:
            return found
        # Python orders str by code point, as DynamoDB orders UTF-8 bytes: the same range.
        span = self.model.sourced_id.between(min(wanted), max(wanted))
        budget, read, start_key = 2 * len(wanted) + 100, 0, None
        while read < budget:
            page = self._query(span, start_key)
            for item in page.get("Items", []):
                sourced_id, stored = _held(item)
                read += 1
                if sourced_id in wanted:
                    found[sourced_id] = stored
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return found
        missing = [(self.tenant_id, sid) for sid in wanted if sid not in found]
        attributes = ["sourced_id", "content_hash", "active"]
        for record in self.model.batch_get(missing, consistent_read=True, attributes_to_get=attributes):
            digest = hash_int(record.content_hash or "")
            found[record.sourced_id] = digest if record.active else ~digest
        return found

    def _query(self, range_condition: Any, start_key: Any) -> dict[str, Any]:
        page: dict[str, Any] = table_connection(self.model).query(
            self.tenant_id,
            range_key_condition=range_condition,
            attributes_to_get=["sourced_id", "content_hash", "active"],
            consistent_read=True,
            exclusive_start_key=start_key,
        )
        return page

    def create(self, sourced_id: str, attributes: Attributes, digest: str) -> None:
        self._creates.append(
            self.model(
                self.tenant_id,
                sourced_id,
                content_hash=digest,
                active=True,
                first_seen_at=self.now,
                last_written_at=self.now,
                last_run_id=self.run_id,
                sync_fence=self.fence,
                **{k: v for k, v in attributes.items() if v is not None},
            )
        )
        if len(self._creates) >= ITEMS_PER_TASK:
            self._submit_creates()

    def _submit_creates(self) -> None:
        items, self._creates = self._creates, []
        self._in_flight.append(_writers().submit(self._write_batch, items))

    def _write_batch(self, items: list[RosterRecord]) -> None:
        started = time.thread_time()
        try:
            with self.model.batch_write() as batch:  # retries unprocessed items itself
                for item in items:
                    batch.save(item)
        finally:
            self._count_cpu(started)

    def flush(self) -> None:
        """Wait until every write of this page is stored; re-raise the first failure. Called
        at the end of each page, so a checkpoint never gets ahead of what is written."""
        if self._creates:
            self._submit_creates()
        in_flight, self._in_flight = self._in_flight, []
        errors = [f.exception() for f in in_flight]
        failure = next((e for e in errors if e is not None), None)
        if failure is not None:
            raise failure

    def update(self, sourced_id: str, attributes: Attributes, digest: str, *, reactivate: bool) -> None:
        model = self.model
        actions: list[Any] = [
            getattr(model, name).remove() if value is None else getattr(model, name).set(value)
            for name, value in attributes.items()
        ]
        actions += [
            model.content_hash.set(digest),
            model.last_written_at.set(self.now),
            model.last_run_id.set(self.run_id),
            *self._stamp(),
        ]
        if reactivate:
            actions += [
                model.active.set(True),
                model.deactivated_at.remove(),
                model.deactivation_reason.remove(),
            ]
        try:
            model(self.tenant_id, sourced_id).update(actions=actions, condition=self._not_newer())
        except UpdateError as exc:
            if self.fence is not None and wire.condition_failed(exc):
                raise Fenced(f"a newer run wrote {sourced_id}; this run lost its lease") from None
            raise

    def deactivate_many(self, entries: list[tuple[str, str, str]]) -> int:
        """(sourcedId, reason, expected hash) each, on the writer threads (one task per thread's
        share); returns how many applied."""
        shares = [entries[n::WRITE_THREADS] for n in range(WRITE_THREADS)]
        futures = [_writers().submit(self._deactivate_share, share) for share in shares if share]
        return sum(future.result() for future in futures)

    def _deactivate_share(self, entries: list[tuple[str, str, str]]) -> int:
        started = time.thread_time()
        try:
            return sum(1 for sid, reason, digest in entries if self.deactivate(sid, reason, digest))
        finally:
            self._count_cpu(started)

    def deactivate(self, sourced_id: str, reason: str, expected_hash: str | None = None) -> bool:
        """False when the record is no longer active (or changed since the decision, or was
        written by a run holding a newer lease)."""
        model = self.model
        condition = model.active == True  # noqa: E712 - a PynamoDB condition, not a comparison
        if expected_hash is not None:
            condition &= model.content_hash == expected_hash
        if self.fence is not None:
            condition &= self._not_newer()
        try:
            model(self.tenant_id, sourced_id).update(
                actions=[
                    model.active.set(False),
                    model.deactivated_at.set(self.now),
                    model.deactivation_reason.set(reason),
                    model.last_written_at.set(self.now),
                    model.last_run_id.set(self.run_id),
                    *self._stamp(),
                ],
                condition=condition,
            )
        except UpdateError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        return True
