"""Partner API as classlink-facts C3 describes the live one."""

from __future__ import annotations

from typing import Any

import pytest
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


def _row_ids(sandbox: SandboxServer) -> dict[int, int]:
    return {r["tenant_id"]: r["id"] for r in _get(sandbox, "/applications").json()["applications"]}


def test_row_ids_stay_put_when_another_tenant_leaves(sandbox: SandboxServer) -> None:
    for i in range(3):
        sandbox.add_district(DistrictSpec(tenant_id=3200 + i, name=f"R{i}", students=5, teachers=1))
    before = _row_ids(sandbox)
    assert len(before) == 4 and len(set(before.values())) == 4
    apply_change(sandbox.world.tenants[3001], {"op": "remove_app"})  # the lowest tenant_id leaves
    apply_change(sandbox.world.tenants[3201], {"op": "remove_app"})
    after = _row_ids(sandbox)
    assert after == {t: before[t] for t in (3200, 3202)}
    # A newcomer gets an id no tenant ever had; one that comes back has its own again.
    sandbox.add_district(DistrictSpec(tenant_id=3000, name="Late", students=5, teachers=1))
    apply_change(sandbox.world.tenants[3201], {"op": "add_app"})
    again = _row_ids(sandbox)
    assert again[3201] == before[3201] and again[3200] == before[3200] and again[3202] == before[3202]
    assert again[3000] not in before.values()


def _admin_change(sandbox: SandboxServer, tenant_id: int, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/admin/tenants/{tenant_id}/changes",
        json=body,
        headers={"X-Sandbox-Admin": sandbox.world.admin_token},
        timeout=5,
    )


def test_tenant_status_is_set_through_the_admin_changes_api(
    sandbox: SandboxServer, tenant_info: dict[str, Any]
) -> None:
    def row() -> dict[str, Any]:
        rows: list[dict[str, Any]] = _get(sandbox, "/applications").json()["applications"]
        return rows[0]

    for status in ("Inactive", "Suspended", "Active"):
        response = _admin_change(sandbox, 3001, {"op": "set_tenant_status", "value": status})
        assert response.status_code == 200, response.text
        assert response.json() == {"op": "set_tenant_status", "tenant_status": status}
        assert row()["tenant_status"] == status and row()["enabled"] == "true"
    _admin_change(sandbox, 3001, {"op": "set_tenant_status", "value": "Inactive"})
    # Only the row changes: nothing says ClassLink stops serving such a tenant's data.
    proxied = requests.get(
        f"{tenant_info['proxy_base_url']}/users?limit=1",
        headers={"Authorization": f"Bearer {tenant_info['bearer']}"},
        timeout=5,
    )
    assert proxied.status_code == 200


@pytest.mark.parametrize("body", [{}, {"value": ""}, {"value": "  "}, {"value": 0}, {"value": None}])
def test_tenant_status_needs_a_non_empty_string(sandbox: SandboxServer, body: dict[str, Any]) -> None:
    assert _admin_change(sandbox, 3001, {"op": "set_tenant_status", "value": "Suspended"}).status_code == 200
    response = _admin_change(sandbox, 3001, {"op": "set_tenant_status", **body})
    assert response.status_code == 400
    assert "set_tenant_status" in response.json()["error"]
    assert _get(sandbox, "/applications").json()["applications"][0]["tenant_status"] == "Suspended"
