"""Partner API as classlink-facts C3 describes the live one."""

from __future__ import annotations

from typing import Any

import requests

from classlink_sandbox.changes import apply_change
from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer


def _get(sandbox: SandboxServer, path: str, key: str | None = None, **params: Any) -> requests.Response:
    return requests.get(
        f"{sandbox.base_url}/partner{path}",
        params=params,
        timeout=5,
        headers={"Authorization": f"Bearer {key or sandbox.world.partner_api_key}"},
    )


def test_applications_rows_have_the_live_shapes(sandbox: SandboxServer) -> None:
    response = _get(sandbox, "/applications")
    assert response.status_code == 200
    assert "x-total-count" not in response.headers and "x-count" not in response.headers
    rows = response.json()["applications"]
    assert isinstance(rows, list) and len(rows) == 1
    row = rows[0]
    assert set(row) == {
        "id",
        "application_id",
        "tenant_id",
        "tenant_name",
        "bearer",
        "enabled",
        "tenant_status",
        "oneroster_application_id",
        "name",
        "version",
    }
    assert row["tenant_id"] == 3001 and isinstance(row["tenant_id"], int)
    assert row["enabled"] == "true" and row["tenant_status"] == "Active"
    assert "%2F" in row["oneroster_application_id"] and "/" not in row["oneroster_application_id"]


def test_applications_honours_limit_and_offset(sandbox: SandboxServer) -> None:
    for i in range(4):
        sandbox.add_district(DistrictSpec(tenant_id=3100 + i, name=f"D{i}", students=5, teachers=1))
    first = _get(sandbox, "/applications", limit=2, offset=0).json()["applications"]
    rest = _get(sandbox, "/applications", limit=10, offset=2).json()["applications"]
    assert len(first) == 2 and len(rest) == 3  # a short page ends paging
    assert len({r["tenant_id"] for r in first + rest}) == 5


def test_wrong_partner_key_is_refused(sandbox: SandboxServer) -> None:
    assert _get(sandbox, "/applications", key="nope").status_code == 401


def test_disabled_and_removed_tenants(sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    apply_change(tenant, {"op": "disable_sharing"})
    assert _get(sandbox, "/applications").json()["applications"][0]["enabled"] == "false"
    apply_change(tenant, {"op": "remove_app"})
    assert _get(sandbox, "/applications").json()["applications"] == []


def test_server_details_for_direct_oauth1_access(sandbox: SandboxServer, tenant_info: dict[str, Any]) -> None:
    response = _get(sandbox, f"/applications/{tenant_info['oneroster_application_id']}/server")
    server = response.json()["server"]
    assert response.json()["status"] == 1
    assert server == {
        "client_id": tenant_info["oauth1_key"],
        "client_secret": tenant_info["oauth1_secret"],
        "endpoint_url": tenant_info["endpoint_url"],
    }
    assert _get(sandbox, "/applications/unknown/server").status_code == 404
