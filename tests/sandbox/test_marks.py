"""Marks (marks.py): how many served records changed since a mark, counted by the sandbox from
its own records, as bench.sync asks for its `changed_records`."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from classlink_sandbox.server import SandboxServer

TENANT = 3001  # the `sandbox` fixture's district
USER_FIELDS = ["sourcedId", "status", "givenName", "familyName", "role", "orgs"]
WATCH = {
    "users": {"fields": USER_FIELDS, "filter": "role!='guardian'"},
    "enrollments": {"fields": ["sourcedId", "status", "user", "class", "role"]},
}


@pytest.fixture(autouse=True)
def guardians_served(sandbox: SandboxServer) -> None:
    """As in bench.sync's district, every user is shared (Unenrolled Users on), so GET /users
    serves guardians too and the filter has something to leave out."""
    _change(sandbox, {"op": "share_unenrolled", "value": True})


def _admin(
    sandbox: SandboxServer, method: str, path: str, body: Any = None, **headers: str
) -> requests.Response:
    return requests.request(
        method,
        f"{sandbox.base_url}/admin{path}",
        json=body,
        headers={"X-Sandbox-Admin": sandbox.world.admin_token, **headers},
        timeout=10,
    )


def _change(sandbox: SandboxServer, change: dict[str, Any]) -> dict[str, Any]:
    response = _admin(sandbox, "POST", f"/tenants/{TENANT}/changes", change)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _mark(sandbox: SandboxServer, name: str = "before") -> dict[str, Any]:
    response = _admin(sandbox, "PUT", f"/tenants/{TENANT}/marks/{name}", {"endpoints": WATCH})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _changes(sandbox: SandboxServer, name: str = "before") -> dict[str, Any]:
    response = _admin(sandbox, "GET", f"/tenants/{TENANT}/marks/{name}/changes")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _students(sandbox: SandboxServer) -> list[dict[str, Any]]:
    users = sandbox.world.tenants[TENANT].users().values()
    return sorted((u for u in users if u["role"] == "student"), key=lambda u: u["sourcedId"])


def _enrollments_of(sandbox: SandboxServer, user_id: str) -> int:
    enrollments = sandbox.world.tenants[TENANT].data["enrollments"].values()
    return sum(1 for e in enrollments if e["user"]["sourcedId"] == user_id)


def test_a_mark_counts_the_records_served_that_the_filter_keeps(sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[TENANT]
    served = sandbox.app.engine.select(tenant, "users", {})[0]
    marked = _mark(sandbox)
    assert marked["name"] == "before"
    assert marked["records"] == {
        "users": sum(1 for u in served if u["role"] != "guardian"),
        "enrollments": len(tenant.data["enrollments"]),
    }
    assert marked["records"]["users"] < len(served)  # guardians are served, and left out


def test_nothing_changed_counts_zero(sandbox: SandboxServer) -> None:
    _mark(sandbox)
    answer = _changes(sandbox)
    assert answer["changed_records"] == 0
    assert all(
        counts["added"] == counts["changed"] == counts["removed"] == 0
        for counts in answer["endpoints"].values()
    )


def test_edits_adds_and_purges_are_counted_as_a_sync_must_write_them(sandbox: SandboxServer) -> None:
    edited, unwatched, purged_a, purged_b = (u["sourcedId"] for u in _students(sandbox)[:4])
    guardian = next(
        u["sourcedId"] for u in sandbox.world.tenants[TENANT].users().values() if u["role"] == "guardian"
    )
    purged_enrollments = _enrollments_of(sandbox, purged_a) + _enrollments_of(sandbox, purged_b)
    assert purged_enrollments > 0
    _mark(sandbox)

    _change(sandbox, {"op": "edit_user", "sourcedId": edited, "fields": {"familyName": "Changed"}})
    # Neither a field left out of the mark nor a record its filter drops counts.
    _change(sandbox, {"op": "edit_user", "sourcedId": unwatched, "fields": {"middleName": "Q"}})
    _change(sandbox, {"op": "edit_user", "sourcedId": guardian, "fields": {"familyName": "Changed"}})
    _change(sandbox, {"op": "add_users", "count": 2, "role": "student"})  # each with one enrollment
    _change(sandbox, {"op": "purge", "sourcedIds": [purged_a, purged_b]})  # with their enrollments

    answer = _changes(sandbox)
    users, enrollments = answer["endpoints"]["users"], answer["endpoints"]["enrollments"]
    assert (users["added"], users["changed"], users["removed"], users["removed_active"]) == (2, 1, 2, 2)
    assert (enrollments["added"], enrollments["changed"], enrollments["removed"]) == (
        2,
        0,
        purged_enrollments,
    )
    assert enrollments["removed_active"] == purged_enrollments
    assert answer["changed_records"] == 2 + 1 + 2 + 2 + purged_enrollments
    assert users["records"] == _mark(sandbox, "after")["records"]["users"]


def test_a_record_gone_after_it_was_already_tobedeleted_needs_no_write(sandbox: SandboxServer) -> None:
    doomed = _students(sandbox)[0]["sourcedId"]
    _change(sandbox, {"op": "mark_tobedeleted", "sourcedIds": [doomed]})
    _change(sandbox, {"op": "purge", "sourcedIds": [doomed]})  # its enrollments go too
    _mark(sandbox)
    _change(sandbox, {"op": "add_users", "count": 1})
    assert _changes(sandbox)["changed_records"] == 2  # the user and its enrollment

    second = _students(sandbox)[0]["sourcedId"]
    _change(sandbox, {"op": "mark_tobedeleted", "sourcedIds": [second]})
    _mark(sandbox, "tobedeleted")
    _change(sandbox, {"op": "purge", "sourcedIds": [second], "collection": "users"})
    users = _changes(sandbox, "tobedeleted")["endpoints"]["users"]
    assert (users["removed"], users["removed_active"]) == (1, 0)


def test_a_deleted_mark_is_gone(sandbox: SandboxServer) -> None:
    _mark(sandbox)
    deleted = _admin(sandbox, "DELETE", f"/tenants/{TENANT}/marks/before")
    assert deleted.status_code == 200 and deleted.json() == {"name": "before", "deleted": True}
    assert _admin(sandbox, "GET", f"/tenants/{TENANT}/marks/before/changes").status_code == 404
    assert sandbox.app.marks.marks == {}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "endpoints"),
        ({"endpoints": {"guardians": {"fields": ["sourcedId"]}}}, "unknown endpoint"),
        ({"endpoints": {"users": {"fields": []}}}, "fields"),
        ({"endpoints": {"users": {"fields": "sourcedId"}}}, "fields"),
        ({"endpoints": {"users": {"fields": ["sourcedId"], "filter": 3}}}, "filter"),
        ({"endpoints": {"users": {"fields": ["sourcedId"], "filter": "shoeSize='9'"}}}, "shoeSize"),
    ],
)
def test_a_bad_mark_is_refused_and_not_kept(sandbox: SandboxServer, body: dict[str, Any], error: str) -> None:
    response = _admin(sandbox, "PUT", f"/tenants/{TENANT}/marks/bad", body)
    assert response.status_code == 400 and error in response.json()["error"]
    assert sandbox.app.marks.marks == {}


def test_marks_need_the_admin_token_and_a_known_tenant(sandbox: SandboxServer) -> None:
    refused = requests.put(
        f"{sandbox.base_url}/admin/tenants/{TENANT}/marks/x", json={"endpoints": WATCH}, timeout=10
    )
    assert refused.status_code == 403
    assert _admin(sandbox, "PUT", "/tenants/9999/marks/x", {"endpoints": WATCH}).status_code == 404
    assert _admin(sandbox, "GET", f"/tenants/{TENANT}/marks/never/changes").status_code == 404
