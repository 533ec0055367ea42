"""OAuth1-only tenants: classlink-facts C3's documented /applications sample has `"bearer": null`.

Such a tenant has no proxy access; the vendor reads GET /applications/{oneroster_application_id}/server
(partner key as Bearer) for client_id, client_secret and endpoint_url, and signs OAuth 1.0a
requests to the district's own server (B2.1).
"""

from __future__ import annotations

from typing import Any

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer

SPEC = DistrictSpec(tenant_id=3400, name="Spruce Hollow", seed=11, students=40, teachers=4, oauth1_only=True)


def _partner(sandbox: SandboxServer, path: str) -> requests.Response:
    return requests.get(
        f"{sandbox.base_url}/partner{path}",
        headers={"Authorization": f"Bearer {sandbox.world.partner_api_key}"},
        timeout=5,
    )


def _row(sandbox: SandboxServer, tenant_id: int) -> dict[str, Any]:
    rows = _partner(sandbox, "/applications").json()["applications"]
    return next(r for r in rows if r["tenant_id"] == tenant_id)


def _signed_users(server: dict[str, str]) -> requests.Response:
    client = Client(
        server["client_id"], client_secret=server["client_secret"], signature_method=SIGNATURE_HMAC_SHA256
    )
    url, headers, _ = client.sign(
        f"{server['endpoint_url']}/ims/oneroster/v1p1/users?limit=10000", http_method="GET"
    )
    return requests.get(url, headers=headers, timeout=5)


def _proxy_users(sandbox: SandboxServer, tenant_id: int, bearer: str) -> requests.Response:
    app_id = sandbox.world.tenants[tenant_id].oneroster_application_id
    return requests.get(
        f"{sandbox.base_url}/partner/{app_id}/ims/oneroster/v1p1/users",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=5,
    )


def test_row_has_a_null_bearer_and_the_server_route_gives_working_oauth1_credentials(
    sandbox: SandboxServer,
) -> None:
    summary = sandbox.add_district(SPEC)
    assert summary["bearer"] is None and summary["oauth1_only"] is True
    row = _row(sandbox, 3400)
    assert row["bearer"] is None and row["enabled"] == "true"
    assert set(row) == set(_row(sandbox, 3001))  # the same keys as a proxy tenant's row
    assert _row(sandbox, 3001)["bearer"]  # the other tenant keeps its proxy bearer

    # The proxy refuses it whatever bearer is presented, even the one it had before.
    tenant = sandbox.world.tenants[3400]
    for bearer in (tenant.bearer, "null", "None", ""):
        refused = _proxy_users(sandbox, 3400, bearer)
        assert refused.status_code == 401
        assert "bearer is null" in refused.json()["imsx_StatusInfo"]["imsx_description"]

    server = _partner(sandbox, f"/applications/{row['oneroster_application_id']}/server").json()
    assert server["status"] == 1 and set(server["server"]) == {"client_id", "client_secret", "endpoint_url"}
    assert server["server"]["endpoint_url"] == summary["endpoint_url"]
    users = _signed_users(server["server"])
    assert users.status_code == 200, users.text
    assert len(users.json()["users"]) == summary["users"] > 0


def test_oauth1_only_through_the_admin_api_and_switched_by_a_change(sandbox: SandboxServer) -> None:
    admin = {"X-Sandbox-Admin": sandbox.world.admin_token}
    body = {"tenant_id": 3401, "name": "Fir Valley", "students": 10, "teachers": 1, "oauth1_only": True}
    created = requests.post(f"{sandbox.base_url}/admin/tenants", json=body, headers=admin, timeout=5)
    assert created.status_code == 201 and created.json()["bearer"] is None
    assert _row(sandbox, 3401)["bearer"] is None

    def change(value: bool) -> None:
        response = requests.post(
            f"{sandbox.base_url}/admin/tenants/3401/changes",
            json={"op": "oauth1_only", "value": value},
            headers=admin,
            timeout=5,
        )
        assert response.status_code == 200

    change(False)  # the district moves to the proxy: a bearer appears and works
    bearer = _row(sandbox, 3401)["bearer"]
    assert bearer and _proxy_users(sandbox, 3401, bearer).status_code == 200
    change(True)
    assert _row(sandbox, 3401)["bearer"] is None
    assert _proxy_users(sandbox, 3401, bearer).status_code == 401


def test_a_disabled_oauth1_only_tenant_refuses_direct_reads_too(sandbox: SandboxServer) -> None:
    sandbox.add_district(DistrictSpec(**{**SPEC.__dict__, "enabled": False}))
    row = _row(sandbox, 3400)
    assert row["enabled"] == "false" and row["bearer"] is None
    server = _partner(sandbox, f"/applications/{row['oneroster_application_id']}/server").json()["server"]
    assert _signed_users(server).status_code == 401
    sandbox.change(3400, {"op": "enable_sharing"})
    assert _signed_users(server).status_code == 200
