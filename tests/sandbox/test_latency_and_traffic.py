"""Injected latency (latency.py) and the traffic counted at the sandbox (traffic.py): OneRoster
requests through the proxy and direct alike, in flight at once overall and per tenant."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.latency import Latency
from classlink_sandbox.server import SandboxServer

TENANT = 3001


def _admin(sandbox: SandboxServer, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        f"{sandbox.base_url}/admin{path}",
        json=body,
        timeout=5,
        headers={"X-Sandbox-Admin": sandbox.world.admin_token},
    )


def _users(info: dict[str, Any], **params: Any) -> requests.Response:
    return requests.get(
        f"{info['proxy_base_url']}/users",
        params=params,
        timeout=30,
        headers={"Authorization": f"Bearer {info['bearer']}"},
    )


def _direct_users(info: dict[str, Any]) -> requests.Response:
    client = Client(
        info["oauth1_key"], client_secret=info["oauth1_secret"], signature_method=SIGNATURE_HMAC_SHA256
    )
    url, headers, _ = client.sign(
        f"{info['endpoint_url']}/ims/oneroster/v1p1/users?limit=5", http_method="GET"
    )
    return requests.get(url, headers=headers, timeout=30)


def _timed(call: Any) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_latency_is_set_through_the_admin_route(sandbox: SandboxServer, tenant_info: dict[str, Any]) -> None:
    response = _admin(sandbox, "PUT", "/latency", {"per_request_ms": 200})
    assert response.json() == {"per_request_ms": 200.0, "per_row_ms": 0.0}
    page, seconds = _timed(lambda: _users(tenant_info, limit=1))
    assert page.status_code == 200 and seconds >= 0.2
    single, seconds = _timed(
        lambda: requests.get(
            f"{tenant_info['proxy_base_url']}/users/{page.json()['users'][0]['sourcedId']}",
            timeout=30,
            headers={"Authorization": f"Bearer {tenant_info['bearer']}"},
        )
    )
    assert single.status_code == 200 and seconds >= 0.2
    assert _admin(sandbox, "GET", "/latency").json()["per_request_ms"] == 200.0


def test_latency_per_row_grows_with_the_rows_served(
    sandbox: SandboxServer, tenant_info: dict[str, Any]
) -> None:
    sandbox.world.latency = Latency(per_row_ms=5)
    page, seconds = _timed(lambda: _users(tenant_info, limit=50))
    assert len(page.json()["users"]) == 50 and seconds >= 50 * 0.005


def test_the_partner_api_and_the_admin_routes_wait_for_no_latency(
    sandbox: SandboxServer, tenant_info: dict[str, Any]
) -> None:
    sandbox.world.latency = Latency(per_request_ms=5_000)
    apps = requests.get(
        f"{sandbox.base_url}/partner/applications",
        timeout=2,
        headers={"Authorization": f"Bearer {sandbox.world.partner_api_key}"},
    )
    assert apps.status_code == 200
    assert _admin(sandbox, "PUT", "/latency", {}).json() == {"per_request_ms": 0.0, "per_row_ms": 0.0}
    assert _users(tenant_info, limit=1).status_code == 200


@pytest.mark.parametrize(
    "body", [{"per_request_ms": -1}, {"per_row_ms": "5"}, {"per_request_ms": True}, {"delay": 5}, [1]]
)
def test_bad_latency_is_refused_and_changes_nothing(sandbox: SandboxServer, body: Any) -> None:
    sandbox.world.latency = Latency(per_request_ms=1)
    assert _admin(sandbox, "PUT", "/latency", body).status_code == 400
    assert sandbox.world.latency == Latency(per_request_ms=1)


def test_traffic_counts_requests_per_tenant_proxy_and_direct_alike(
    sandbox: SandboxServer, tenant_info: dict[str, Any]
) -> None:
    other = sandbox.add_district(
        DistrictSpec(tenant_id=3002, name="Elm Creek District", seed=8, students=10, teachers=2)
    )
    assert _users(tenant_info, limit=1).status_code == 200
    assert _direct_users(tenant_info).status_code == 200
    assert _users(other, limit=1).status_code == 200
    assert _users({**other, "bearer": "wrong"}, limit=1).status_code == 401  # refused, still a request
    requests.get(f"{sandbox.base_url}/partner/nope/ims/oneroster/v1p1/users", timeout=5)  # no tenant
    requests.get(
        f"{sandbox.base_url}/partner/applications",
        timeout=5,
        headers={"Authorization": f"Bearer {sandbox.world.partner_api_key}"},
    )
    counts = _admin(sandbox, "GET", "/traffic").json()
    assert counts == sandbox.world.traffic.snapshot()
    assert counts["oneroster_requests"] == 5 and counts["partner_requests"] == 1
    assert counts["per_tenant"] == {
        "3001": {"requests": 2, "in_flight": 0, "max_in_flight": 1},
        "3002": {"requests": 2, "in_flight": 0, "max_in_flight": 1},
    }
    assert counts["in_flight"] == 0 and counts["max_in_flight"] == counts["max_in_flight_per_tenant"] == 1
    before = _admin(sandbox, "DELETE", "/traffic").json()
    assert before == counts
    assert sandbox.world.traffic.snapshot() == {
        "oneroster_requests": 0,
        "in_flight": 0,
        "max_in_flight": 0,
        "max_in_flight_per_tenant": 0,
        "per_tenant": {},
        "partner_requests": 0,
    }


def test_concurrent_slow_requests_are_in_flight_together(
    sandbox: SandboxServer, tenant_info: dict[str, Any]
) -> None:
    other = sandbox.add_district(
        DistrictSpec(tenant_id=3002, name="Elm Creek District", seed=8, students=10, teachers=2)
    )
    sandbox.world.latency = Latency(per_request_ms=2_000)
    sandbox.world.traffic.reset()
    statuses: list[int] = []
    callers = [
        threading.Thread(target=lambda info=info: statuses.append(_users(info, limit=1).status_code))
        for info in (tenant_info, tenant_info, other)
    ]
    for caller in callers:
        caller.start()
    # While they wait in the sandbox, all three are in flight, and it says so.
    deadline = time.monotonic() + 10
    while sandbox.world.traffic.snapshot()["in_flight"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    during = sandbox.world.traffic.snapshot()
    for caller in callers:
        caller.join()
    after = sandbox.world.traffic.snapshot()
    assert statuses == [200, 200, 200]
    assert during["in_flight"] == 3 and during["per_tenant"]["3001"]["in_flight"] == 2
    assert after["in_flight"] == 0 and after["max_in_flight"] == 3 and after["max_in_flight_per_tenant"] == 2
    assert after["per_tenant"]["3001"] == {"requests": 2, "in_flight": 0, "max_in_flight": 2}
    assert after["per_tenant"]["3002"] == {"requests": 1, "in_flight": 0, "max_in_flight": 1}


def test_a_reset_while_requests_wait_keeps_them_in_flight(
    sandbox: SandboxServer, tenant_info: dict[str, Any]
) -> None:
    sandbox.world.latency = Latency(per_request_ms=1_000)
    caller = threading.Thread(target=lambda: _users(tenant_info, limit=1))
    caller.start()
    deadline = time.monotonic() + 10
    while sandbox.world.traffic.snapshot()["in_flight"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    reset = _admin(sandbox, "DELETE", "/traffic").json()
    counts = sandbox.world.traffic.snapshot()
    caller.join()
    assert reset["in_flight"] == 1 and reset["oneroster_requests"] == 1
    assert counts["oneroster_requests"] == 0 and counts["in_flight"] == counts["max_in_flight"] == 1
    assert counts["per_tenant"] == {"3001": {"requests": 0, "in_flight": 1, "max_in_flight": 1}}
    assert sandbox.world.traffic.snapshot()["in_flight"] == 0
