"""Fault injection, set per tenant and per collection (endpoint) through the admin API.

Kinds and what a client sees:
  http_429 / http_500 / http_502 / http_503  that status (429 with Retry-After if `retry_after`)
  slow             the normal answer after `delay_seconds`
  drop             the connection closes with no response
  truncated_json   200 whose JSON body stops half way
  no_envelope      200 whose body lacks the collection key (B5: code.org raises on this)
  perm_rev_change  x-perm-rev moves on before this page (B3: restart the pull)
  count_mismatch   x-total-count off by `delta` from the rows really there
  empty            200 with an empty collection and x-total-count 0
  duplicate_rows   the page starts `rows` early, repeating rows of the previous page
  missing_rows     the page starts `rows` late, skipping rows
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "http_429",
        "http_500",
        "http_502",
        "http_503",
        "slow",
        "drop",
        "truncated_json",
        "no_envelope",
        "perm_rev_change",
        "count_mismatch",
        "empty",
        "duplicate_rows",
        "missing_rows",
    }
)


@dataclass
class Fault:
    kind: str
    tenant_id: int | None = None  # None: every tenant (and the Partner API)
    collection: str = "*"  # endpoint name: users, students, orgs, applications... or *
    times: int | None = None  # None: until cleared
    after: int = 0  # let this many matching requests through first
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0

    def matches(self, tenant_id: int | None, collection: str) -> bool:
        return (self.tenant_id is None or self.tenant_id == tenant_id) and self.collection in (
            "*",
            collection,
        )


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; known: {sorted(KINDS)}")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, tenant_id: int | None, collection: str) -> Fault | None:
        """The first live fault for this request, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(tenant_id, collection):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.__dict__.copy() for f in self._faults]
