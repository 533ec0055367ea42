"""Adding districts while the sandbox serves: the HTTP admin API and the SandboxServer API.

classlink-facts C1: a district can add the app but leave it disabled (the app is not enabled by
default), and C3: a district that has not added it is missing from /applications.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer


def _admin(sandbox: SandboxServer, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        f"{sandbox.base_url}/admin{path}",
        json=body,
        headers={"X-Sandbox-Admin": sandbox.world.admin_token},
        timeout=10,
    )


def _rows(sandbox: SandboxServer) -> dict[int, dict[str, Any]]:
    response = requests.get(
        f"{sandbox.base_url}/partner/applications",
        headers={"Authorization": f"Bearer {sandbox.world.partner_api_key}"},
        timeout=5,
    )
    return {r["tenant_id"]: r for r in response.json()["applications"]}


def _proxy_users(summary: dict[str, Any]) -> requests.Response:
    return requests.get(
        f"{summary['proxy_base_url']}/users",
        params={"limit": "10000"},
        headers={"Authorization": f"Bearer {summary['bearer']}"},
        timeout=5,
    )


def test_a_district_added_disabled_over_http_is_listed_false_until_enabled(sandbox: SandboxServer) -> None:
    created = _admin(
        sandbox,
        "POST",
        "/tenants",
        {
            "tenant_id": 3300,
            "name": "Willow Creek",
            "seed": 5,
            "students": 30,
            "teachers": 3,
            "enabled": False,
        },
    )
    assert created.status_code == 201, created.text
    summary = created.json()
    assert summary["tenant_id"] == 3300 and summary["enabled"] is False and summary["listed"] is True
    assert summary["endpoint_url"].startswith(sandbox.base_url)
    assert _rows(sandbox)[3300]["enabled"] == "false"
    assert _proxy_users(summary).status_code == 401

    changed = _admin(sandbox, "POST", "/tenants/3300/changes", {"op": "enable_sharing"})
    assert changed.status_code == 200 and changed.json() == {"op": "enable_sharing"}
    assert _rows(sandbox)[3300]["enabled"] == "true"
    users = _proxy_users(summary)
    assert users.status_code == 200 and len(users.json()["users"]) == summary["users"]
    # Records point at the district's own Roster Server host, as SandboxServer.add_district's do.
    assert users.json()["users"][0]["orgs"][0]["href"].startswith(
        "https://willowcreek-nj-v2.rosterserver.com/"
    )


def test_a_district_added_unlisted_appears_once_it_adds_the_app(sandbox: SandboxServer) -> None:
    body = {"tenant_id": 3301, "name": "Aspen", "students": 10, "teachers": 1, "listed": False}
    summary = _admin(sandbox, "POST", "/tenants", body).json()
    assert summary["listed"] is False and 3301 not in _rows(sandbox)
    assert _proxy_users(summary).status_code == 401
    assert _admin(sandbox, "GET", "/tenants/3301").json()["listed"] is False
    assert _admin(sandbox, "POST", "/tenants/3301/changes", {"op": "add_app"}).status_code == 200
    assert _rows(sandbox)[3301]["enabled"] == "true"
    assert _proxy_users(summary).status_code == 200


def test_the_python_api_does_the_same(sandbox: SandboxServer) -> None:
    summary = sandbox.add_district(
        DistrictSpec(tenant_id=3302, name="Larch", students=10, teachers=1, enabled=False, listed=False)
    )
    assert (summary["enabled"], summary["listed"]) == (False, False) and 3302 not in _rows(sandbox)
    sandbox.change(3302, {"op": "add_app"})
    assert _rows(sandbox)[3302]["enabled"] == "false"
    sandbox.change(3302, {"op": "enable_sharing"})
    assert _rows(sandbox)[3302]["enabled"] == "true" and _proxy_users(summary).status_code == 200


def test_listing_tenants_and_one_tenant(sandbox: SandboxServer) -> None:
    sandbox.add_district(DistrictSpec(tenant_id=3303, name="Hidden", students=5, teachers=1, listed=False))
    listed = _admin(sandbox, "GET", "/tenants").json()["tenants"]
    assert [t["tenant_id"] for t in listed] == [3001, 3303]
    assert _admin(sandbox, "GET", "/tenants/3001").json() == sandbox.describe()["tenants"][0]
    assert _admin(sandbox, "GET", "/tenants/9999").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tenant_id": 3304}, "name"),  # a required field missing
        ({"tenant_id": 3304, "name": "X", "colour": "red"}, "colour"),  # not a DistrictSpec field
        ({"tenant_id": "3304", "name": "X"}, "tenant_id"),
        ({"tenant_id": 3304, "name": ""}, "name"),
        ({"tenant_id": 3304, "name": "X", "teachers": -1}, "teachers"),
        ({"tenant_id": 3304, "name": "X", "students": "many"}, "students"),
        ({"tenant_id": 3304, "name": "X", "schools": 0}, "schools"),
        ({"tenant_id": 3304, "name": "X", "duplicate_emails": 1}, "duplicate_emails"),
        ({"tenant_id": 3304, "name": "X", "students": 5, "students_without_school": 6}, "without_school"),
        ([1, 2], "DistrictSpec"),
    ],
)
def test_a_bad_district_is_refused_with_400(sandbox: SandboxServer, body: Any, message: str) -> None:
    response = _admin(sandbox, "POST", "/tenants", body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert 3304 not in sandbox.world.tenants


def test_adding_a_district_needs_the_admin_token(sandbox: SandboxServer) -> None:
    response = requests.post(
        f"{sandbox.base_url}/admin/tenants", json={"tenant_id": 3305, "name": "No"}, timeout=5
    )
    assert response.status_code == 403 and 3305 not in sandbox.world.tenants


def test_a_replaced_district_is_served_fresh(sandbox: SandboxServer, tenant_info: dict[str, Any]) -> None:
    """The same tenant_id posted again is a new roster: no page cached for the old one leaks."""
    before = _proxy_users(tenant_info)
    assert len(before.json()["users"]) == tenant_info["users"]
    row_id = _rows(sandbox)[3001]["id"]
    replaced = _admin(
        sandbox,
        "POST",
        "/tenants",
        {"tenant_id": 3001, "name": "Oak Ridge District", "students": 7, "teachers": 1},
    )
    summary = replaced.json()
    assert summary["users"] != tenant_info["users"]
    after = _proxy_users(summary)
    assert len(after.json()["users"]) == summary["users"]
    assert list(_rows(sandbox)) == [3001] and _rows(sandbox)[3001]["id"] == row_id  # its row kept


def test_summary_counts_shared_users_and_the_sis_total(sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    summary = sandbox.describe()["tenants"][0]
    shared = len(_proxy_users(summary).json()["users"])
    assert summary["users"] == shared < summary["users_in_sis"] == len(tenant.users())
    sandbox.change(3001, {"op": "share_unenrolled", "value": True})
    summary = sandbox.describe()["tenants"][0]
    assert summary["users"] == summary["users_in_sis"] == len(_proxy_users(summary).json()["users"])
