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
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
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


class RosterStore(Protocol):
    def existing(self) -> dict[str, int | None]: ...
    def create(self, sourced_id: str, attributes: Attributes, digest: str) -> None: ...
    def flush(self) -> None: ...
    def update(self, sourced_id: str, attributes: Attributes, digest: str, *, reactivate: bool) -> None: ...
    def deactivate_many(self, entries: list[tuple[str, str, str]]) -> int: ...
    def deactivate(self, sourced_id: str, reason: str, expected_hash: str | None = None) -> bool: ...


# (model, tenant id, run id, now) -> the store of that collection for that run
RosterStores = Callable[[type[RosterRecord], str, str, datetime], RosterStore]


class RosterReader(Protocol):
    def records(self, model: type[RosterRecord], tenant_id: str, attributes: Sequence[str]) -> Iterator[Any]:
        """Every record of the district in one collection, with these attributes only."""


class DynamoRosterReader:
    def records(self, model: type[RosterRecord], tenant_id: str, attributes: Sequence[str]) -> Iterator[Any]:
        return model.query(tenant_id, attributes_to_get=list(attributes))


class DynamoRosterStore:
    def __init__(self, model: type[RosterRecord], tenant_id: str, run_id: str, now: datetime) -> None:
        self.model = model
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.now = now
        self._creates: list[RosterRecord] = []
        self._in_flight: list[Future[None]] = []

    def existing(self) -> dict[str, int | None]:
        """sourcedId -> stored content hash as an int, bit-inverted (negative) when the record
        is inactive. Read page by page with the low-level query and only three attributes:
        memory grows with the number of records (about 150 bytes each), not their fields."""
        found: dict[str, int | None] = {}
        connection = table_connection(self.model)
        start_key = None
        while True:
            page = connection.query(
                self.tenant_id,
                attributes_to_get=["sourced_id", "content_hash", "active"],
                consistent_read=True,
                exclusive_start_key=start_key,
            )
            for item in page.get("Items", []):
                digest = hash_int(item.get("content_hash", {}).get("S", ""))
                found[item["sourced_id"]["S"]] = digest if item.get("active", {}).get("BOOL") else ~digest
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return found

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
                **{k: v for k, v in attributes.items() if v is not None},
            )
        )
        if len(self._creates) >= ITEMS_PER_TASK:
            self._submit_creates()

    def _submit_creates(self) -> None:
        items, self._creates = self._creates, []
        self._in_flight.append(_writers().submit(self._write_batch, items))

    def _write_batch(self, items: list[RosterRecord]) -> None:
        with self.model.batch_write() as batch:  # retries unprocessed items itself
            for item in items:
                batch.save(item)

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
        ]
        if reactivate:
            actions += [
                model.active.set(True),
                model.deactivated_at.remove(),
                model.deactivation_reason.remove(),
            ]
        model(self.tenant_id, sourced_id).update(actions=actions)

    def deactivate_many(self, entries: list[tuple[str, str, str]]) -> int:
        """(sourcedId, reason, expected hash) each, on the writer threads; returns how many applied."""
        futures = [_writers().submit(self.deactivate, sid, reason, digest) for sid, reason, digest in entries]
        return sum(1 for future in futures if future.result())

    def deactivate(self, sourced_id: str, reason: str, expected_hash: str | None = None) -> bool:
        """False when the record is no longer active (or changed since the decision)."""
        model = self.model
        condition = model.active == True  # noqa: E712 - a PynamoDB condition, not a comparison
        if expected_hash is not None:
            condition &= model.content_hash == expected_hash
        try:
            model(self.tenant_id, sourced_id).update(
                actions=[
                    model.active.set(False),
                    model.deactivated_at.set(self.now),
                    model.deactivation_reason.set(reason),
                    model.last_written_at.set(self.now),
                    model.last_run_id.set(self.run_id),
                ],
                condition=condition,
            )
        except UpdateError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        return True
