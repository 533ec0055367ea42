"""What a sync request needs from outside the domain (the handler builds it) and what it
answers: the outcome the worker logs and measures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smartpass.classlink.oneroster import OneRosterClient
from smartpass.data.districts import District
from smartpass.data.stores import Stores
from smartpass.sync.piece import PieceResult
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncRequest


class UnknownDistrict(LookupError):
    """The message names a tenant we have no District row for."""


@dataclass
class SyncServices:
    stores: Stores
    connect: Callable[[District], OneRosterClient]
    send: Callable[[SyncRequest, int], None]  # a request to the sync queue, with a delay (s)
    notify: Callable[[Report], None]  # to operators (the operator topic)
    email: Callable[[str, Report], None] | None = None  # to a district contact, if set up
    # the district status page's signed link for a report (None: no link in the report)
    district_link: Callable[[str], str | None] | None = None


@dataclass
class RequestOutcome:
    tenant_id: str
    run_id: str
    state: str  # a SyncState, "continued", "deferred" or "duplicate"
    piece: int
    result: PieceResult | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tenant_id": self.tenant_id, "run_id": self.run_id, "state": self.state}
        out["piece"] = self.piece
        if self.result is not None:
            out["counts"] = self.result.counts["total"]
            out["requests"] = self.result.requests
            out["retries"] = self.result.retries
            out["seconds"] = self.result.seconds
        if self.reason:
            out["reason"] = self.reason
        return out
