"""Fault injection per tenant and collection, set through the admin endpoint."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from classlink_sandbox.server import SandboxServer


@pytest.fixture
def admin(sandbox: SandboxServer) -> Any:
    def post(path: str, body: dict[str, Any], method: str = "POST") -> requests.Response:
        return requests.request(
            method,
            f"{sandbox.base_url}/admin{path}",
            json=body,
            timeout=5,
            headers={"X-Sandbox-Admin": sandbox.world.admin_token},
        )

    return post


@pytest.fixture
def users(tenant_info: dict[str, Any]) -> Any:
    def get(**params: Any) -> requests.Response:
        return requests.get(
            f"{tenant_info['proxy_base_url']}/users",
            params={"limit": 10, **params},
            timeout=10,
            headers={"Authorization": f"Bearer {tenant_info['bearer']}"},
        )

    return get


def _fault(admin: Any, kind: str, **extra: Any) -> None:
    response = admin("/faults", {"kind": kind, "tenant_id": 3001, "collection": "users", "times": 1, **extra})
    assert response.status_code == 201, response.text


def test_admin_endpoint_requires_the_token(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.base_url}/admin/faults", json={"kind": "http_500"}, timeout=5)
    assert response.status_code == 403


def test_unknown_fault_kind_is_refused(admin: Any) -> None:
    assert admin("/faults", {"kind": "gremlins"}).status_code == 400


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_once_then_normal(admin: Any, users: Any, status: int) -> None:
    _fault(admin, f"http_{status}")
    assert users().status_code == status
    assert users().status_code == 200


def test_429_with_and_without_retry_after(admin: Any, users: Any) -> None:
    _fault(admin, "http_429", params={"retry_after": 7})
    with_header = users()
    assert with_header.status_code == 429 and with_header.headers["Retry-After"] == "7"
    _fault(admin, "http_429")
    without = users()
    assert without.status_code == 429 and "Retry-After" not in without.headers


def test_fault_is_scoped_to_its_tenant_and_collection(
    admin: Any, users: Any, tenant_info: dict[str, Any]
) -> None:
    _fault(admin, "http_500")
    orgs = requests.get(
        f"{tenant_info['proxy_base_url']}/orgs",
        timeout=5,
        headers={"Authorization": f"Bearer {tenant_info['bearer']}"},
    )
    assert orgs.status_code == 200
    assert users().status_code == 500


def test_after_lets_pages_through_first(admin: Any, users: Any) -> None:
    _fault(admin, "http_503", after=2)
    assert [users().status_code for _ in range(4)] == [200, 200, 503, 200]


def test_slow_response(admin: Any, users: Any) -> None:
    _fault(admin, "slow", params={"delay_seconds": 1.0})
    started = time.monotonic()
    assert users().status_code == 200
    assert time.monotonic() - started >= 1.0


def test_slow_response_trips_a_client_timeout(admin: Any, tenant_info: dict[str, Any]) -> None:
    _fault(admin, "slow", params={"delay_seconds": 2.0})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{tenant_info['proxy_base_url']}/users",
            timeout=0.5,
            headers={"Authorization": f"Bearer {tenant_info['bearer']}"},
        )


def test_dropped_connection(admin: Any, users: Any) -> None:
    _fault(admin, "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        users()
    assert users().status_code == 200


def test_truncated_json(admin: Any, users: Any) -> None:
    _fault(admin, "truncated_json")
    response = users()
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_200_without_the_envelope(admin: Any, users: Any) -> None:
    _fault(admin, "no_envelope")
    response = users()
    assert response.status_code == 200 and "users" not in response.json()


def test_perm_rev_changes_mid_pull(admin: Any, users: Any) -> None:
    first = users()
    _fault(admin, "perm_rev_change")
    second = users(offset=10)
    assert second.headers["x-perm-rev"] != first.headers["x-perm-rev"]


def test_total_count_that_does_not_match_the_rows(admin: Any, users: Any) -> None:
    real = int(users().headers["x-total-count"])
    _fault(admin, "count_mismatch", params={"delta": -3})
    assert int(users().headers["x-total-count"]) == real - 3


def test_empty_collection(admin: Any, users: Any) -> None:
    _fault(admin, "empty")
    response = users()
    assert response.json() == {"users": []} and response.headers["x-total-count"] == "0"


def test_duplicated_and_missing_rows_across_pages(admin: Any, users: Any) -> None:
    page1 = [u["sourcedId"] for u in users(sort="sourcedId").json()["users"]]
    clean2 = [u["sourcedId"] for u in users(sort="sourcedId", offset=10).json()["users"]]
    _fault(admin, "duplicate_rows", params={"rows": 2})
    dup2 = [u["sourcedId"] for u in users(sort="sourcedId", offset=10).json()["users"]]
    assert dup2[:2] == page1[-2:]
    _fault(admin, "missing_rows", params={"rows": 2})
    miss2 = [u["sourcedId"] for u in users(sort="sourcedId", offset=10).json()["users"]]
    assert miss2[0] == clean2[2]


def test_partner_api_faults(admin: Any, sandbox: SandboxServer) -> None:
    admin(
        "/faults",
        {"kind": "http_429", "collection": "applications", "times": 1, "params": {"retry_after": 1}},
    )
    response = requests.get(
        f"{sandbox.base_url}/partner/applications",
        timeout=5,
        headers={"Authorization": f"Bearer {sandbox.world.partner_api_key}"},
    )
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"


def test_faults_can_be_listed_and_cleared(admin: Any, users: Any) -> None:
    admin("/faults", {"kind": "http_500", "tenant_id": 3001, "collection": "users"})
    assert [f["kind"] for f in admin("/faults", {}, method="GET").json()] == ["http_500"]
    admin("/faults", {}, method="DELETE")
    assert users().status_code == 200


@pytest.mark.parametrize("kind", ["no_envelope", "truncated_json", "empty", "drop"])
def test_partner_api_body_faults(admin: Any, sandbox: SandboxServer, kind: str) -> None:
    admin("/faults", {"kind": kind, "collection": "applications", "times": 1})
    url = f"{sandbox.base_url}/partner/applications"
    auth = {"Authorization": f"Bearer {sandbox.world.partner_api_key}"}
    if kind == "drop":
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(url, headers=auth, timeout=5)
        return
    response = requests.get(url, headers=auth, timeout=5)
    assert response.status_code == 200
    if kind == "truncated_json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)
    else:
        assert response.json().get("applications") in (None, [])
