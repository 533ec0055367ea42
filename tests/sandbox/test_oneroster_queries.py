"""OneRoster v1p1 reads through the proxy: envelopes, paging, sort, filter, fields, headers,
single and nested objects (classlink-facts B3, B4, B7)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer


@pytest.mark.parametrize(
    ("endpoint", "envelope"),
    [
        ("orgs", "orgs"),
        ("schools", "orgs"),
        ("academicSessions", "academicSessions"),
        ("courses", "courses"),
        ("classes", "classes"),
        ("users", "users"),
        ("students", "users"),
        ("teachers", "users"),
        ("enrollments", "enrollments"),
    ],
)
def test_collections_are_enveloped_by_type(get: Any, endpoint: str, envelope: str) -> None:
    response = get(f"/{endpoint}", limit=5)
    assert response.status_code == 200
    assert list(response.json()) == [envelope]
    assert 0 < len(response.json()[envelope]) <= 5


def test_headers_are_lowercase_counts_and_perm_rev(get: Any) -> None:
    response = get("/users", limit=7, offset=3)
    raw_names = list(response.raw.headers.keys())
    assert {"x-count", "x-total-count", "x-perm-rev"} <= set(raw_names)
    assert response.headers["x-count"] == "7"
    assert int(response.headers["x-total-count"]) > 7


def test_role_endpoints_and_string_booleans(get: Any) -> None:
    students = get("/students", limit=10_000).json()["users"]
    teachers = get("/teachers", limit=10_000).json()["users"]
    assert {u["role"] for u in students} == {"student"} and {u["role"] for u in teachers} == {"teacher"}
    assert {u["enabledUser"] for u in students} <= {"true", "false"}
    enrollment = get("/enrollments", limit=1).json()["enrollments"][0]
    assert enrollment["primary"] in ("true", "false")
    schools = get("/schools").json()["orgs"]
    assert {o["type"] for o in schools} == {"school"}


def test_paging_sorted_by_sourced_id_covers_every_row_once(get: Any) -> None:
    total = int(get("/users", limit=1).headers["x-total-count"])
    seen: list[str] = []
    offset = 0
    while True:
        page = get("/users", limit=25, offset=offset, sort="sourcedId", orderBy="asc").json()["users"]
        seen += [u["sourcedId"] for u in page]
        if len(page) < 25:
            break
        offset += 25
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen)


def test_limit_is_capped_at_ten_thousand_and_defaults_to_one_hundred(get: Any) -> None:
    assert len(get("/enrollments").json()["enrollments"]) == 100
    assert (
        get("/enrollments", limit=50_000).headers["x-count"]
        == get("/enrollments", limit=10_000).headers["x-count"]
    )


def test_order_desc_and_unknown_order_ignored(get: Any) -> None:
    desc = [
        u["sourcedId"] for u in get("/users", sort="sourcedId", orderBy="desc", limit=10_000).json()["users"]
    ]
    dsc = [
        u["sourcedId"] for u in get("/users", sort="sourcedId", orderBy="dsc", limit=10_000).json()["users"]
    ]
    assert desc == sorted(desc, reverse=True)
    assert dsc == sorted(dsc)  # code.org: `dsc` is silently ignored


def test_filters_with_operators_and_boolean_groups(get: Any) -> None:
    teachers = get("/users", filter="role='teacher'", limit=10_000).json()["users"]
    assert teachers and {u["role"] for u in teachers} == {"teacher"}
    both = get("/users", filter="role='teacher' OR role='student'", limit=10_000).json()["users"]
    assert {u["role"] for u in both} == {"teacher", "student"}
    # No parentheses: AND binds tighter than OR (classlink-facts B4).
    mixed = get("/users", filter="role='teacher' AND givenName='nobody' OR role='student'", limit=10_000)
    assert {u["role"] for u in mixed.json()["users"]} == {"student"}
    one = teachers[0]
    anded = get("/users", filter=f"role='teacher' AND familyName='{one['familyName']}'", limit=10_000)
    assert all(u["familyName"] == one["familyName"] for u in anded.json()["users"])
    contains = get("/users", filter=f"username~'{one['username'][:4].upper()}'", limit=10_000).json()["users"]
    assert one["sourcedId"] in {u["sourcedId"] for u in contains}
    assert all(
        u["role"] != "student" for u in get("/users", filter="role!='student'", limit=10_000).json()["users"]
    )
    after = get("/users", filter="dateLastModified>'2000-01-01T00:00:00Z'", limit=1)
    assert after.headers["x-total-count"] == get("/users", limit=1).headers["x-total-count"]


def test_bad_filter_and_sort_get_imsx_errors(get: Any) -> None:
    bad_filter = get("/users", filter="favouriteColour='blue'")
    bad_sort = get("/users", sort="shoeSize")
    for response, minor in (
        (bad_filter, "invalid_filter_field"),
        (bad_sort, "invalid_sort_field"),
    ):
        assert response.status_code == 400
        field = response.json()["imsx_StatusInfo"]["imsx_CodeMinor"]["imsx_codeMinorField"][0]
        assert field["imsx_codeMinorFieldValue"] == minor


def test_fields_selects_only_what_is_asked(get: Any) -> None:
    users = get("/users", fields="sourcedId,role,givenName", limit=5).json()["users"]
    assert all(set(u) == {"sourcedId", "role", "givenName"} for u in users)


def test_unknown_fields_are_left_out_not_refused(get: Any) -> None:
    """psd401 asks live ClassLink v1p1 for `roles` and gets data (classlink-facts B4, B8)."""
    psd401 = (
        "sourcedId,status,dateLastModified,email,username,givenName,familyName,role,roles,orgs,"
        "enabledUser,grades"
    )
    response = get("/users", fields=psd401, limit=10)
    assert response.status_code == 200, response.text
    users = response.json()["users"]
    assert len(users) == 10
    known = set(psd401.split(",")) - {"roles"}
    assert all(set(u) == known for u in users)
    odd = get("/users", fields="sourcedId, shoeSize ,role", limit=3)
    assert odd.status_code == 200
    assert all(set(u) == {"sourcedId", "role"} for u in odd.json()["users"])
    only_unknown = get("/users", fields="roles,shoeSize", limit=3)
    assert only_unknown.status_code == 200 and only_unknown.json()["users"] == [{}, {}, {}]
    one = users[0]["sourcedId"]
    single = get(f"/users/{quote(one, safe='')}", fields="sourcedId,roles,role")
    assert single.status_code == 200
    assert single.json() == {"user": {"sourcedId": one, "role": users[0]["role"]}}


def test_full_records_carry_fields_we_must_never_store(get: Any) -> None:
    users = get("/users", limit=10_000).json()["users"]
    assert all({"password", "sms", "phone", "agents", "userIds", "identifier"} <= set(u) for u in users)
    assert any(u["agents"] for u in users if u["role"] == "student")


def test_single_objects_and_escaped_sourced_ids(get: Any) -> None:
    user = get("/users", limit=1).json()["users"][0]
    single = get(f"/users/{quote(user['sourcedId'], safe='')}")
    assert single.status_code == 200 and single.json() == {"user": user}
    assert list(get("/orgs/3001").json()) == ["org"]
    missing = get("/users/nobody")
    assert missing.status_code == 404
    assert (
        missing.json()["imsx_StatusInfo"]["imsx_CodeMinor"]["imsx_codeMinorField"][0][
            "imsx_codeMinorFieldValue"
        ]
        == "unknownobject"
    )


def test_nested_reads(get: Any, sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    class_id = next(iter(tenant.data["classes"]))
    expected = {
        e["user"]["sourcedId"]
        for e in tenant.data["enrollments"].values()
        if e["class"]["sourcedId"] == class_id and e["role"] == "student"
    }
    students = get(f"/classes/{quote(class_id, safe='')}/students", limit=10_000).json()["users"]
    assert {u["sourcedId"] for u in students} == expected and expected
    teachers = get(f"/classes/{quote(class_id, safe='')}/teachers").json()["users"]
    assert len(teachers) == 1 and teachers[0]["role"] == "teacher"
    classes = get(f"/teachers/{quote(teachers[0]['sourcedId'], safe='')}/classes").json()["classes"]
    assert class_id in {c["sourcedId"] for c in classes}


def test_changes_between_pulls(get: Any, sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    before = get("/users", limit=1)
    victim, purged = [u["sourcedId"] for u in get("/students", limit=2).json()["users"]]
    apply_change(tenant, {"op": "mark_tobedeleted", "sourcedIds": [victim]})
    apply_change(tenant, {"op": "purge", "sourcedIds": [purged]})
    added = apply_change(tenant, {"op": "add_users", "count": 2})["added"]
    after = get("/users", limit=1)
    assert int(after.headers["x-perm-rev"]) > int(before.headers["x-perm-rev"])
    assert get(f"/users/{quote(victim, safe='')}").json()["user"]["status"] == "tobedeleted"
    assert get(f"/users/{quote(purged, safe='')}").status_code == 404
    assert int(after.headers["x-total-count"]) == int(before.headers["x-total-count"]) + 1
    assert all(get(f"/users/{a}").status_code == 200 for a in added)


def test_unenrolled_users_are_shared_only_with_the_toggle(get: Any, sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    without = {u["role"] for u in get("/users", limit=10_000).json()["users"]}
    assert "administrator" not in without  # C1: unenrolled staff are not sent by default
    admin = next(u["sourcedId"] for u in tenant.users().values() if u["role"] == "administrator")
    assert get(f"/users/{quote(admin, safe='')}").status_code == 404
    apply_change(tenant, {"op": "share_unenrolled", "value": True})
    with_toggle = {u["role"] for u in get("/users", limit=10_000).json()["users"]}
    assert {"administrator", "guardian"} <= with_toggle
    assert get(f"/users/{quote(admin, safe='')}").json()["user"]["role"] == "administrator"


def test_filter_on_a_field_inside_a_list_of_objects(get: Any, sandbox: SandboxServer) -> None:
    school = next(
        o["sourcedId"] for o in sandbox.world.tenants[3001].data["orgs"].values() if o["type"] == "school"
    )
    users = get("/users", filter=f"orgs.sourcedId='{school}'", limit=10_000).json()["users"]
    assert users and all(any(o["sourcedId"] == school for o in u["orgs"]) for u in users)
    enrollments = get("/enrollments", filter=f"school.sourcedId='{school}'", limit=10_000).json()[
        "enrollments"
    ]
    assert enrollments and {e["school"]["sourcedId"] for e in enrollments} == {school}
