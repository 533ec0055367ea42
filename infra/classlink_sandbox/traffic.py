"""Traffic as the sandbox sees it: how many OneRoster requests arrived (through the proxy and
direct with OAuth1 alike), how many were in flight at once, overall and per tenant, and how many
Partner API requests arrived. Measured at the server, so a benchmark's concurrency figures do
not depend on what the client believes it sent.

A request is in flight from the moment the sandbox has read it (and knows its tenant) until its
answer is made, injected latency included.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class _Counts:
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def enter(self) -> None:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def as_json(self) -> dict[str, int]:
        return {"requests": self.requests, "in_flight": self.in_flight, "max_in_flight": self.max_in_flight}


class Traffic:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._oneroster = _Counts()
        self._tenants: dict[int, _Counts] = {}
        self._partner_requests = 0

    @contextmanager
    def oneroster(self, tenant_id: int | None) -> Iterator[None]:
        """Counts one OneRoster request in flight for the duration of the block. `tenant_id`
        None (an unknown application or tenant) counts in the totals only."""
        with self._lock:
            self._oneroster.enter()
            tenant = None if tenant_id is None else self._tenants.setdefault(tenant_id, _Counts())
            if tenant is not None:
                tenant.enter()
        try:
            yield
        finally:
            with self._lock:
                self._oneroster.in_flight -= 1
                if tenant is not None:
                    tenant.in_flight -= 1

    def partner(self) -> None:
        with self._lock:
            self._partner_requests += 1

    def snapshot(self) -> dict[str, Any]:
        """GET /admin/traffic's body."""
        with self._lock:
            return self._snapshot()

    def reset(self) -> dict[str, Any]:
        """Counts start again from zero; returns the snapshot taken just before. Requests still in
        flight stay in flight (and are the new maximum), so their end balances out."""
        with self._lock:
            before = self._snapshot()
            # In place: a request in flight decrements the very objects it entered.
            for counts in (self._oneroster, *self._tenants.values()):
                counts.requests, counts.max_in_flight = 0, counts.in_flight
            self._tenants = {tid: counts for tid, counts in self._tenants.items() if counts.in_flight}
            self._partner_requests = 0
            return before

    def _snapshot(self) -> dict[str, Any]:
        return {
            "oneroster_requests": self._oneroster.requests,
            "in_flight": self._oneroster.in_flight,
            "max_in_flight": self._oneroster.max_in_flight,
            "max_in_flight_per_tenant": max((t.max_in_flight for t in self._tenants.values()), default=0),
            "per_tenant": {str(tid): counts.as_json() for tid, counts in sorted(self._tenants.items())},
            "partner_requests": self._partner_requests,
        }
