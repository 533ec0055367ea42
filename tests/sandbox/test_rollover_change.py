"""The sandbox's `rollover` change: a district's SIS rolling over to a new school year (new terms
a year later, a new class for every class, enrollments carried, students a grade up, the
graduating grade gone), through the admin API as a test or an operator would send it."""

from __future__ import annotations

from typing import Any

import requests

from classlink_sandbox.changes import apply_change
from classlink_sandbox.generator import DistrictSpec, generate
from classlink_sandbox.server import SandboxServer


def _grade(user: dict[str, Any]) -> str:
    return str(user["grades"][0])


def test_a_rollover_makes_the_next_school_year_and_the_seniors_leave() -> None:
    tenant = generate(DistrictSpec(tenant_id=3400, name="Birch Hill", seed=3, students=80, teachers=5))
    before = {c: {sid: dict(r) for sid, r in rows.items()} for c, rows in tenant.data.items()}
    students = {sid: u for sid, u in before["users"].items() if u["role"] == "student"}
    seniors = sorted(sid for sid, u in students.items() if _grade(u) == "12")
    assert seniors  # the seed gives some

    result = apply_change(tenant, {"op": "rollover"})

    assert result["school_year"] == "2028" and result["graduated"] == seniors
    terms = tenant.data["academicSessions"]
    assert terms["FY-2028"]["startDate"] == "2027-08-24" and terms["FY-2028"]["endDate"] == "2028-06-15"
    assert terms["S1-2028"]["schoolYear"] == "2028"
    assert {"FY", "S1"} <= terms.keys()  # the old year's terms stay, over
    classes = tenant.data["classes"]
    assert not classes.keys() & before["classes"].keys()
    assert len(classes) == len(before["classes"]) == result["classes"]
    assert all(c["terms"][0]["sourcedId"] == "FY-2028" for c in classes.values())
    enrollments = tenant.data["enrollments"].values()
    assert all(
        e["class"]["sourcedId"] in classes and e["user"]["sourcedId"] not in seniors for e in enrollments
    )
    carried = [e for e in before["enrollments"].values() if e["user"]["sourcedId"] not in seniors]
    assert len(enrollments) == len(carried) == result["enrollments"]
    assert not tenant.users().keys() & set(seniors)
    for sid, user in tenant.users().items():
        if sid in students:
            assert int(_grade(user)) == int(_grade(students[sid])) + 1


def test_a_rollover_sent_to_the_admin_api_can_drop_the_old_terms(sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    revision = tenant.perm_rev
    juniors = {sid for sid, u in tenant.users().items() if u["role"] == "student" and "11" in u["grades"]}
    answer = requests.post(
        f"{sandbox.base_url}/admin/tenants/3001/changes",
        json={"op": "rollover", "graduating_grade": "11", "drop_old_terms": True},
        headers={"X-Sandbox-Admin": sandbox.world.admin_token},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert sorted(tenant.data["academicSessions"]) == ["FY-2028", "S1-2028"]
    assert tenant.perm_rev > revision  # a client paging through it would see the revision move
    assert juniors and not juniors & tenant.users().keys()  # this time the 11th grade leaves
    # A second rollover moves on a year from the first.
    assert apply_change(tenant, {"op": "rollover"})["terms"] == ["FY-2029", "S1-2029"]
