"""Page shaping (paging.py): pages capped below the limit asked for, the OneRoster Link header,
x-total-count left out; set per tenant or for every tenant through the admin API."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from classlink_sandbox.faults import Fault
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


def _paging(sandbox: SandboxServer, body: dict[str, Any]) -> None:
    response = _admin(sandbox, "PUT", f"/tenants/{TENANT}/paging", body)
    assert response.status_code == 200, response.text


def _offset(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["offset"][0])


def _all_ids(get: Any, endpoint: str, **params: Any) -> list[str]:
    rows = get(f"/{endpoint}", limit=10_000, **params).json()[endpoint]
    return [r["sourcedId"] for r in rows]


def test_pages_send_lowercase_counts_and_no_link_header_by_default(tenant_info: dict[str, Any]) -> None:
    url = urlsplit(f"{tenant_info['proxy_base_url']}/users?limit=5")
    connection = http.client.HTTPConnection(url.netloc, timeout=5)
    try:
        connection.request(
            "GET", f"{url.path}?{url.query}", headers={"Authorization": f"Bearer {tenant_info['bearer']}"}
        )
        response = connection.getresponse()
        names = [name for name, _ in response.getheaders()]
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    # As ClassLink sends them (B3), spelled in lowercase on the wire.
    assert {"x-count", "x-total-count", "x-perm-rev"} <= set(names)
    assert dict(response.getheaders())["x-count"] == "5"
    assert not any(name.lower() == "link" for name in names)


def test_a_capped_page_holds_the_cap_and_says_so(sandbox: SandboxServer, get: Any) -> None:
    everyone = _all_ids(get, "users")
    _paging(sandbox, {"page_cap": {"users": 7}})
    page = get("/users", limit=50, offset=3, sort="sourcedId")
    assert page.status_code == 200
    assert len(page.json()["users"]) == 7
    assert page.headers["x-count"] == "7"
    assert page.headers["x-total-count"] == str(len(everyone))
    # Another endpoint of the same tenant is not capped.
    orgs = get("/orgs", limit=50)
    assert int(orgs.headers["x-count"]) == len(orgs.json()["orgs"]) == int(orgs.headers["x-total-count"]) > 0


def test_paging_by_the_rows_that_arrived_reads_every_row_once(sandbox: SandboxServer, get: Any) -> None:
    everyone = _all_ids(get, "enrollments")
    _paging(sandbox, {"page_cap": 40})  # a number caps every endpoint
    seen: list[str] = []
    offset = 0
    while offset < len(everyone):
        page = get("/enrollments", limit=100, offset=offset, sort="sourcedId")
        rows = page.json()["enrollments"]
        assert len(rows) == int(page.headers["x-count"]) <= 40
        seen += [r["sourcedId"] for r in rows]
        offset += len(rows)
    assert sorted(seen) == sorted(everyone) and len(seen) == len(set(seen))


def test_link_headers_lead_through_every_page_and_next_is_absent_on_the_last(
    sandbox: SandboxServer, get: Any, tenant_info: dict[str, Any]
) -> None:
    everyone = _all_ids(get, "users", filter="status='active'")
    _paging(sandbox, {"page_cap": 25, "link_headers": True})
    first = get("/users", limit=1000, sort="sourcedId", filter="status='active'")
    links = first.links
    assert "prev" not in links and _offset(links["first"]["url"]) == 0
    assert _offset(links["next"]["url"]) == 25
    last_offset = _offset(links["last"]["url"])
    assert last_offset == (len(everyone) - 1) // 25 * 25
    # The links keep the request's parameters and the limit asked for.
    query = parse_qs(urlsplit(links["next"]["url"]).query)
    assert (
        query["limit"] == ["1000"]
        and query["sort"] == ["sourcedId"]
        and query["filter"] == ["status='active'"]
    )
    assert links["next"]["url"].startswith(tenant_info["proxy_base_url"] + "/users?")
    seen = [r["sourcedId"] for r in first.json()["users"]]
    page = first
    while "next" in page.links:
        page = requests.get(
            page.links["next"]["url"], timeout=5, headers={"Authorization": f"Bearer {tenant_info['bearer']}"}
        )
        assert page.status_code == 200
        seen += [r["sourcedId"] for r in page.json()["users"]]
        assert _offset(page.links["prev"]["url"]) == _offset(page.url) - 25
    assert _offset(page.url) == last_offset
    assert sorted(seen) == sorted(everyone) and len(seen) == len(set(seen))


def test_a_page_that_is_whole_has_no_next_link(sandbox: SandboxServer, get: Any) -> None:
    _paging(sandbox, {"link_headers": True})
    page = get("/orgs", limit=100)
    assert "next" not in page.links and _offset(page.links["last"]["url"]) == 0


def test_totals_can_be_left_out(sandbox: SandboxServer, get: Any) -> None:
    _paging(sandbox, {"page_cap": 10, "total_count": False, "link_headers": True})
    page = get("/users", limit=100)
    assert "x-total-count" not in page.headers
    assert page.headers["x-count"] == "10" and "next" in page.links


def test_a_cap_combines_with_a_fault(sandbox: SandboxServer, get: Any) -> None:
    total = len(_all_ids(get, "users"))
    _paging(sandbox, {"page_cap": 9})
    sandbox.app.faults.add(Fault(kind="count_mismatch", tenant_id=TENANT, collection="users", times=1))
    page = get("/users", limit=100)
    assert page.headers["x-count"] == "9" and len(page.json()["users"]) == 9
    assert page.headers["x-total-count"] == str(total + 5)


def test_the_default_applies_to_tenants_without_their_own(sandbox: SandboxServer, get: Any) -> None:
    try:
        assert _admin(sandbox, "PUT", "/paging", {"page_cap": 4}).json()["page_cap"] == {"*": 4}
        assert get("/users", limit=100).headers["x-count"] == "4"
        _paging(sandbox, {"page_cap": 6})
        assert get("/users", limit=100).headers["x-count"] == "6"
        own = _admin(sandbox, "GET", f"/tenants/{TENANT}/paging").json()
        assert own == {"page_cap": {"*": 6}, "link_headers": False, "total_count": True, "own": True}
        _admin(sandbox, "DELETE", f"/tenants/{TENANT}/paging")
        assert get("/users", limit=100).headers["x-count"] == "4"
    finally:
        _admin(sandbox, "DELETE", "/paging")
    assert get("/users", limit=50).headers["x-count"] == "50"


@pytest.mark.parametrize(
    "body",
    [
        {"page_cap": 0},
        {"page_cap": "500"},
        {"page_cap": {"users": True}},
        {"page_cap": {"enrolments": 500}},
        {"link_headers": "yes"},
        {"total_count": None},
        {"pagecap": 5},
        [5],
    ],
)
def test_bad_paging_is_refused_and_changes_nothing(sandbox: SandboxServer, body: Any) -> None:
    response = _admin(sandbox, "PUT", f"/tenants/{TENANT}/paging", body)
    assert response.status_code == 400 and response.json()["error"]
    assert sandbox.world.tenants[TENANT].paging is None


def test_paging_of_an_unknown_tenant_is_404(sandbox: SandboxServer) -> None:
    assert _admin(sandbox, "PUT", "/tenants/9999/paging", {"page_cap": 5}).status_code == 404
