"""Marks: what a tenant serves, remembered as one small digest per record, so that a later
question "how many records changed since?" is answered from the sandbox's own records.

A benchmark in another process (bench/sync.py) counts the changes a nightly sync must write
this way, without copying the roster out: the mark holds 8 bytes of hash (and whether the record
was active) per record, here, instead of two JSON copies of every record over there.

Admin routes (header `X-Sandbox-Admin`, JSON bodies):
  PUT    /admin/tenants/{id}/marks/{name}   {"endpoints": {"users": {"fields": ["sourcedId", ...],
                                             "filter": "role!='guardian'"}, "orgs": {...}}}
         digests what GET /{endpoint}?filter=... serves now, over the fields named (the filter is
         OneRoster's, optional) -> {"name", "records": {"users": n, ...}}; a mark of the same
         name is replaced
  GET    /admin/tenants/{id}/marks/{name}/changes
         compares what the same reads serve now -> {"name", "endpoints": {"users": {"records",
         "added", "changed", "removed", "removed_active"}, ...}, "changed_records"}
  DELETE /admin/tenants/{id}/marks/{name}  forgets it (its memory is freed)

`changed_records` is what a sync holding those fields must write: records added, records whose
fields changed, and records gone from the feed that were active at the mark (a sync deactivates
them; one already `tobedeleted` was deactivated before).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from classlink_sandbox.oneroster import ENDPOINTS, OneRosterError, QueryEngine
from classlink_sandbox.world import Record, Tenant, World

Answer = tuple[int, Any]


@dataclass(frozen=True)
class Watch:
    """What one endpoint's records are compared on."""

    fields: tuple[str, ...]
    filter: str = ""


@dataclass
class Mark:
    tenant_serial: int  # a tenant replaced under the same id is another roster
    watches: dict[str, Watch]
    # endpoint -> sourcedId -> hash << 1 | active: a small int per record, not a copy of it.
    digests: dict[str, dict[str, int]] = field(default_factory=dict)


def digest(record: Record, fields: tuple[str, ...]) -> int:
    """64 bits of hash over the fields' values (key order inside values does not matter), shifted
    left one bit to hold whether the record is active."""
    canonical = json.dumps(
        [record.get(f) for f in fields], sort_keys=True, default=str, separators=(",", ":")
    )
    value = int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest())
    return value << 1 | (record.get("status") == "active")


@dataclass
class MarkBook:
    marks: dict[tuple[int, str], Mark] = field(default_factory=dict)

    def route(self, world: World, engine: QueryEngine, method: str, path: str, body: Any) -> Answer | None:
        """The answer (status, JSON body) to a route this module owns, else None."""
        parts = path.split("/")  # "", "tenants", id, "marks", name[, "changes"]
        if len(parts) not in (5, 6) or parts[1] != "tenants" or parts[3] != "marks" or not parts[4]:
            return None
        tenant = world.tenants.get(int(parts[2])) if parts[2].isdigit() else None
        if tenant is None:
            return 404, {"error": f"unknown tenant {parts[2]}"}
        key = (tenant.tenant_id, parts[4])
        if len(parts) == 5 and method == "PUT":
            try:
                mark = _mark(engine, tenant, _watches(body))
            except ValueError as exc:
                return 400, {"error": str(exc)}
            self.marks[key] = mark
            return 200, {"name": key[1], "records": {e: len(d) for e, d in mark.digests.items()}}
        mark_or_none = self.marks.get(key)
        if mark_or_none is None:
            return 404, {"error": f"no mark {key[1]!r} for tenant {key[0]}"}
        if len(parts) == 5 and method == "DELETE":
            del self.marks[key]
            return 200, {"name": key[1], "deleted": True}
        if len(parts) == 6 and parts[5] == "changes" and method == "GET":
            if mark_or_none.tenant_serial != tenant.serial:
                return 409, {"error": f"tenant {key[0]} was replaced since mark {key[1]!r}"}
            return 200, {"name": key[1], **_changes(engine, tenant, mark_or_none)}
        return None


def _watches(body: Any) -> dict[str, Watch]:
    endpoints = body.get("endpoints") if isinstance(body, dict) else None
    if not isinstance(endpoints, dict) or not endpoints:
        raise ValueError('the body needs "endpoints": {"<endpoint>": {"fields": [...], "filter"?: "..."}}')
    watches = {}
    for endpoint, spec in endpoints.items():
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(ENDPOINTS)}")
        fields = spec.get("fields") if isinstance(spec, dict) else None
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
            raise ValueError(f"{endpoint}: fields must be a non-empty list of field names")
        filter_text = spec.get("filter", "")
        if not isinstance(filter_text, str):
            raise ValueError(f"{endpoint}: filter must be a string")
        watches[endpoint] = Watch(tuple(fields), filter_text)
    return watches


def _mark(engine: QueryEngine, tenant: Tenant, watches: dict[str, Watch]) -> Mark:
    mark = Mark(tenant.serial, watches)
    for endpoint, watch in watches.items():
        rows = _rows(engine, tenant, endpoint, watch)
        mark.digests[endpoint] = {r["sourcedId"]: digest(r, watch.fields) for r in rows}
    return mark


def _rows(engine: QueryEngine, tenant: Tenant, endpoint: str, watch: Watch) -> list[Record]:
    """What GET /{endpoint}?filter=... serves (the Unenrolled Users toggle included)."""
    params = {"filter": watch.filter} if watch.filter else {}
    try:
        rows, _ = engine.select(tenant, endpoint, params)
    except OneRosterError as exc:  # a filter that does not parse is the caller's mistake
        raise ValueError(exc.description) from None
    return rows


def _changes(engine: QueryEngine, tenant: Tenant, mark: Mark) -> dict[str, Any]:
    endpoints: dict[str, dict[str, int]] = {}
    for endpoint, watch in mark.watches.items():
        before = mark.digests[endpoint]
        now: set[str] = set()
        added = changed = 0
        for record in _rows(engine, tenant, endpoint, watch):
            sourced_id = record["sourcedId"]
            now.add(sourced_id)
            old = before.get(sourced_id)
            if old is None:
                added += 1
            elif old >> 1 != digest(record, watch.fields) >> 1:
                changed += 1
        gone = [value for sid, value in before.items() if sid not in now]
        endpoints[endpoint] = {
            "records": len(now),
            "added": added,
            "changed": changed,
            "removed": len(gone),
            "removed_active": sum(value & 1 for value in gone),
        }
    total = sum(e["added"] + e["changed"] + e["removed_active"] for e in endpoints.values())
    return {"endpoints": endpoints, "changed_records": total}
