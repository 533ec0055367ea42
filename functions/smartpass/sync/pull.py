"""Reconciling one collection as its pages arrive.

The diff is against what DynamoDB holds (sourcedId -> content hash, active), looked up by key:
nothing assumes ClassLink's `sort=sourcedId` order equals DynamoDB's byte order (ClassLink's
collation is undocumented; a streaming merge that relied on it would deactivate wrongly).

Per record: new -> create; stored fields changed -> update; back after a deactivation ->
reactivate; unchanged -> nothing at all. A `tobedeleted` record, or one whose role is no longer
synced, becomes a pending deactivation. Absence is judged only when the pull is complete and
consistent (`finish_pull`), and every deactivation waits for the end of the run, where the
safety hold looks at all of them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from smartpass.classlink.oneroster import Page
from smartpass.classlink.records import sourced_id_of
from smartpass.data.roster_store import RosterStore
from smartpass.sync.collections import CollectionSpec, content_hash

MAX_INVALID_SAMPLES = 50

# A pending deactivation: (reason, content hash when decided, in hex).
Pending = tuple[str, str]
ABSENT: Any = object()  # not in `existing`: a record we have never stored


class InconsistentPull(Exception):
    """The pages of a collection do not add up (revision moved, counts disagree, rows skipped)."""


@dataclass
class CollectionPull:
    """`existing` maps sourcedId -> stored hash (int; bit-inverted when inactive) and, once the
    pull has seen a record, -> None: one dict serves as both the diff base and the "seen" set,
    which keeps a 500,000-record collection within the worker's memory."""

    spec: CollectionSpec
    store: RosterStore
    roles: Mapping[str, str]
    existing: dict[str, int | None]
    distinct: int = 0  # records seen (by sourcedId) in this pull
    pending: dict[str, Pending] = field(default_factory=dict)
    new_pending: list[list[str]] = field(default_factory=list)  # not yet saved
    counts: Counter[str] = field(default_factory=Counter)
    invalid_samples: list[str] = field(default_factory=list)
    total: int | None = None
    perm_rev: str | None = None
    duplicates: int = 0
    unidentified: int = 0  # rows with no usable sourcedId: absence cannot be judged then
    # A pull resumed in a later piece does not read all we hold again: `existing` starts with
    # what earlier pieces saw, each page looks up its own records (`RosterStore.lookup`), and
    # absence is judged in one pass over what we hold (`RosterStore.held`) at the end.
    resumed: bool = False

    def apply(self, page: Page) -> None:
        if self.total is not None and page.total is not None and page.total != self.total:
            raise InconsistentPull(f"x-total-count moved from {self.total} to {page.total} during the pull")
        if self.perm_rev is not None and page.perm_rev is not None and page.perm_rev != self.perm_rev:
            raise InconsistentPull("ClassLink's roster revision (x-perm-rev) changed during the pull")
        self.total = self.total if self.total is not None else page.total
        self.perm_rev = self.perm_rev if self.perm_rev is not None else page.perm_rev
        if self.resumed:
            self._look_up(page.rows)
        for raw in page.rows:
            self._record(raw)
        self.store.flush()

    def _look_up(self, rows: list[Any]) -> None:
        ids = [sid for sid in map(sourced_id_of, rows) if sid is not None and sid not in self.existing]
        for sourced_id, stored in self.store.lookup(ids).items():
            self.existing.setdefault(sourced_id, stored)

    def seen_ids(self) -> list[str]:
        return [sid for sid, stored in self.existing.items() if stored is None]

    def mark_seen(self, sourced_ids: list[str]) -> None:
        """Resume: what earlier pieces of this pull saw."""
        for sourced_id in sourced_ids:
            if self.existing.get(sourced_id, 0) is not None:
                self.existing[sourced_id] = None
                self.distinct += 1

    def _record(self, raw: Any) -> None:
        self.counts["fetched"] += 1
        sourced_id = sourced_id_of(raw)
        stored = self.existing.get(sourced_id, ABSENT) if sourced_id is not None else ABSENT
        if stored is None:
            self.duplicates += 1  # overlapping pages: the first copy counts
            return
        try:
            record = self.spec.record_type.model_validate(raw)
        except ValidationError as exc:
            self._invalid(sourced_id, exc)
            return
        self._see(record.sourced_id)
        attributes = self.spec.to_attributes(record, self.roles)
        if record.to_be_deleted or attributes is None:
            if stored is not ABSENT and stored >= 0:
                reason = "tobedeleted" if record.to_be_deleted else "role not synced"
                self._pend(record.sourced_id, reason, stored)
            else:
                self.counts["ignored"] += 1
            return
        digest = content_hash(attributes)
        digest_int = int(digest, 16)
        if stored is ABSENT:
            self.store.create(record.sourced_id, attributes, digest)
            self.counts["created"] += 1
        elif stored < 0:
            self.store.update(record.sourced_id, attributes, digest, reactivate=True)
            self.counts["reactivated"] += 1
        elif stored != digest_int:
            self.store.update(record.sourced_id, attributes, digest, reactivate=False)
            self.counts["updated"] += 1
        else:
            self.counts["unchanged"] += 1

    def _invalid(self, sourced_id: str | None, exc: ValidationError) -> None:
        self.counts["invalid"] += 1
        if sourced_id is None:
            self.unidentified += 1
        else:
            # It exists in ClassLink: it must not look absent, and its stored copy stays as is.
            self._see(sourced_id)
        if len(self.invalid_samples) < MAX_INVALID_SAMPLES:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
            )
            self.invalid_samples.append(f"{self.spec.name} {sourced_id or '(no sourcedId)'}: {problems}")

    def _see(self, sourced_id: str) -> None:
        self.existing[sourced_id] = None
        self.distinct += 1

    def _pend(self, sourced_id: str, reason: str, stored: int) -> None:
        digest = format(stored, "016x")
        self.pending[sourced_id] = (reason, digest)
        self.new_pending.append([sourced_id, reason, digest])

    def finish_pull(self) -> list[str]:
        """After the last page: check the pull adds up, then mark what is absent. Returns
        findings. Raises InconsistentPull when the pages do not add up."""
        findings: list[str] = []
        if self.total is not None and self.distinct + self.unidentified != self.total:
            raise InconsistentPull(
                f"ClassLink said {self.total} {self.spec.name} but the pages held "
                f"{self.distinct + self.unidentified} distinct ones"
            )
        if self.total is None and self.duplicates:
            raise InconsistentPull(
                f"pages of {self.spec.name} overlapped and no total was given to check them"
            )
        if self.total is None:
            # Without x-total-count nothing proves the pull complete (psd401 refuses such pages).
            findings.append(
                f"ClassLink sent no x-total-count for {self.spec.name}, so the pull could not be "
                "checked and nobody was deactivated for being absent"
            )
            return findings
        if self.unidentified:
            findings.append(
                f"{self.unidentified} {self.spec.name} came without a sourcedId, so nobody was "
                f"deactivated for being absent from {self.spec.name} this run"
            )
            return findings
        held = self.store.held() if self.resumed else self.existing.items()
        for sourced_id, stored in held:
            if stored is None or self.existing.get(sourced_id, stored) is None:
                continue  # seen in this pull
            if stored >= 0 and sourced_id not in self.pending:
                self._pend(sourced_id, "absent", stored)
        return findings
