"""Admin routes of the serving settings and measures (paging.py, latency.py, traffic.py), behind
the same `X-Sandbox-Admin` header as the other admin routes:

  GET    /admin/paging               the default paging of tenants without their own
  PUT    /admin/paging               {"page_cap": 500 | {"enrollments": 500, "*": 1000},
                                      "link_headers": true, "total_count": false}; keys left out
                                      take their defaults (no cap, no Link header, totals sent)
  DELETE /admin/paging               back to the defaults
  GET|PUT /admin/tenants/{id}/paging a tenant's own paging (GET gives the one in force)
  DELETE /admin/tenants/{id}/paging  the tenant follows the default again
  GET|PUT /admin/latency             {"per_request_ms": 300, "per_row_ms": 0.05}
  GET    /admin/traffic              the counts (Traffic.snapshot)
  DELETE /admin/traffic              counts from zero again; answers the counts before
"""

from __future__ import annotations

from typing import Any

from classlink_sandbox.latency import Latency
from classlink_sandbox.oneroster import ENDPOINTS
from classlink_sandbox.paging import ALL, Paging
from classlink_sandbox.world import World

Answer = tuple[int, Any]


def serving_route(world: World, method: str, path: str, body: Any) -> Answer | None:
    """The answer (status, JSON body) to a route this module owns, else None."""
    if path == "/paging":
        return _default_paging(world, method, body)
    if path.startswith("/tenants/") and path.endswith("/paging") and path.count("/") == 3:
        return _tenant_paging(world, method, path.split("/")[2], body)
    if path == "/latency" and method in ("GET", "PUT"):
        if method == "PUT":
            try:
                world.latency = Latency.from_json(body)
            except ValueError as exc:
                return 400, {"error": str(exc)}
        return 200, world.latency.as_json()
    if path == "/traffic" and method == "GET":
        return 200, world.traffic.snapshot()
    if path == "/traffic" and method == "DELETE":
        return 200, world.traffic.reset()
    return None


def _default_paging(world: World, method: str, body: Any) -> Answer | None:
    if method == "PUT":
        try:
            world.paging = _paging(body)
        except ValueError as exc:
            return 400, {"error": str(exc)}
    elif method == "DELETE":
        world.paging = Paging()
    elif method != "GET":
        return None
    return 200, world.paging.as_json()


def _tenant_paging(world: World, method: str, tenant_id: str, body: Any) -> Answer | None:
    tenant = world.tenants.get(int(tenant_id)) if tenant_id.isdigit() else None
    if tenant is None:
        return 404, {"error": f"unknown tenant {tenant_id}"}
    if method == "PUT":
        try:
            tenant.paging = _paging(body)
        except ValueError as exc:
            return 400, {"error": str(exc)}
    elif method == "DELETE":
        tenant.paging = None
    elif method != "GET":
        return None
    return 200, {**world.paging_of(tenant).as_json(), "own": tenant.paging is not None}


def _paging(body: Any) -> Paging:
    """Paging from a body; a cap for an endpoint the sandbox does not serve is refused, since it
    would never apply (a misspelt `enrolments` would leave pages uncapped without a word)."""
    paging = Paging.from_json(body)
    unknown = sorted(set(paging.page_cap) - set(ENDPOINTS) - {ALL})
    if unknown:
        raise ValueError(
            f"page_cap for endpoints the sandbox does not serve: {unknown}; known: {sorted(ENDPOINTS)}"
        )
    return paging
