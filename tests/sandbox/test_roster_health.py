"""DistrictSpec options that give a district each roster-health problem in an exact amount:
no teachers, aides or administrators, students with no school, missing and duplicate e-mails.
Defaults change nothing: the same seed still gives the same bytes as before the options."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

import pytest
import requests

from classlink_sandbox.changes import apply_change
from classlink_sandbox.generator import DistrictSpec, generate
from classlink_sandbox.oneroster import QueryEngine, related_ids
from classlink_sandbox.server import SandboxServer
from classlink_sandbox.world import Record, Tenant

BASE = DistrictSpec(
    tenant_id=4100, name="Hemlock", seed=9, students=120, teachers=8, aides=3, administrators=2
)
# sha256 of json.dumps([data, classlink_user_ids], ensure_ascii=False) of this spec, as generated
# before the roster-health options existed: the defaults must keep every byte. Changed once on
# purpose since: the first administrator belongs to the district's own org, not a school.
GOLDEN = (
    DistrictSpec(tenant_id=4001, name="Cedar Unified", seed=42, students=80),
    "f8519ee83caed36447b684a883fdcfd92cb2efeea30f079b86c2d566a9236ba7",
)


def _spec(**changes: Any) -> DistrictSpec:
    return DistrictSpec(**{**BASE.__dict__, **changes})


def _digest(tenant: Tenant) -> str:
    blob = json.dumps([tenant.data, tenant.classlink_user_ids], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def _shared(tenant: Tenant) -> list[Record]:
    return QueryEngine().visible(tenant, "users")


def _people(users: list[Record]) -> list[Record]:
    return [u for u in users if u["role"] != "guardian"]


def _email_problems(users: list[Record]) -> tuple[int, int]:
    """(users with no e-mail, users whose e-mail another user also has)."""
    people = _people(users)
    counts = Counter(u["email"] for u in people if u["email"])
    return sum(1 for u in people if not u["email"]), sum(1 for u in people if counts.get(u["email"], 0) > 1)


def test_defaults_keep_the_bytes_they_had() -> None:
    spec, digest = GOLDEN
    assert _digest(generate(spec)) == digest
    explicit = DistrictSpec(
        **{
            **spec.__dict__,
            "students_without_school": 0,
            "enabled": True,
            "listed": True,
            "oauth1_only": False,
        }
    )
    assert _digest(generate(explicit)) == digest


def test_no_teachers_gives_classes_without_a_teacher_and_students_still_shared() -> None:
    tenant = generate(_spec(teachers=0))
    roles = Counter(u["role"] for u in tenant.users().values())
    assert roles["teacher"] == 0 and roles["student"] == 120
    assert tenant.data["classes"], "classes exist (one set per school)"
    enrollments = tenant.data["enrollments"].values()
    assert enrollments and all(e["role"] == "student" for e in enrollments)
    with_teacher = {e["class"]["sourcedId"] for e in enrollments if e["role"] == "teacher"}
    assert not with_teacher
    shared = Counter(u["role"] for u in _shared(tenant))
    assert shared["teacher"] == 0 and shared["student"] > 100
    # Same seed, same bytes, with the option too.
    assert _digest(tenant) == _digest(generate(_spec(teachers=0)))


def test_no_teachers_is_served_and_takes_new_teachers(sandbox: SandboxServer) -> None:
    summary = sandbox.add_district(_spec(teachers=0))
    headers = {"Authorization": f"Bearer {summary['bearer']}"}
    teachers = requests.get(f"{summary['proxy_base_url']}/teachers", headers=headers, timeout=5)
    assert teachers.status_code == 200 and teachers.json()["users"] == []
    [added] = sandbox.change(4100, {"op": "add_users", "role": "teacher"})["added"]
    teachers = requests.get(f"{summary['proxy_base_url']}/teachers", headers=headers, timeout=5)
    assert [t["sourcedId"] for t in teachers.json()["users"]] == [added]


def test_no_aides_and_no_administrators_even_with_unenrolled_users_shared() -> None:
    tenant = generate(_spec(aides=0, administrators=0, share_unenrolled=True))
    roles = Counter(u["role"] for u in _shared(tenant))
    assert roles["aide"] == 0 and roles["administrator"] == 0 and roles["teacher"] == 8
    apply_change(tenant, {"op": "add_users", "role": "administrator", "count": 2})
    assert Counter(u["role"] for u in tenant.users().values())["administrator"] == 2


def test_students_without_school_are_exactly_that_many_and_are_shared() -> None:
    tenant = generate(_spec(students_without_school=7))
    no_school = [u for u in tenant.users().values() if u["role"] == "student" and not u["orgs"]]
    assert len(no_school) == 7 and all(u["orgs"] == [] for u in no_school)
    shared_ids = {u["sourcedId"] for u in _shared(tenant)}  # Unenrolled Users is off
    assert {u["sourcedId"] for u in no_school} <= shared_ids
    # Every other user keeps a school.
    assert all(u["orgs"] for u in tenant.users().values() if u not in no_school and u["role"] != "guardian")
    assert _digest(tenant) == _digest(generate(_spec(students_without_school=7)))
    everyone = generate(_spec(students_without_school=120))
    assert not any(u["orgs"] for u in everyone.users().values() if u["role"] == "student")


def test_students_without_school_are_left_out_of_their_schools_users() -> None:
    tenant = generate(_spec(students_without_school=5))
    engine = QueryEngine()
    school = next(o["sourcedId"] for o in tenant.data["orgs"].values() if o["type"] == "school")
    in_school = related_ids(tenant, "schools", school, "students")
    no_school = {u["sourcedId"] for u in tenant.users().values() if u["role"] == "student" and not u["orgs"]}
    assert in_school and not (in_school & no_school)
    assert engine.page(tenant, "students", {"limit": "10000"}).total >= 5


@pytest.mark.parametrize(("missing", "duplicates"), [(0, 0), (5, 0), (0, 6), (3, 7), (12, 2), (0, 3)])
def test_exact_missing_and_duplicate_emails(missing: int, duplicates: int) -> None:
    tenant = generate(_spec(missing_emails=missing, duplicate_emails=duplicates))
    everyone = list(tenant.users().values())
    assert _email_problems(everyone) == (missing, duplicates)
    # Picked from enrolled users, so the vendor sees exactly these counts with Unenrolled Users off.
    assert _email_problems(_shared(tenant)) == (missing, duplicates)
    people = _people(everyone)
    groups = Counter(u["email"] for u in people if u["email"])
    sizes = sorted(n for n in groups.values() if n > 1)
    assert sizes == ([2] * (duplicates // 2 - 1) + [3] if duplicates % 2 else [2] * (duplicates // 2))
    # Guardians keep their own unique addresses.
    assert all(u["email"] for u in everyone if u["role"] == "guardian")
    again = generate(_spec(missing_emails=missing, duplicate_emails=duplicates))
    assert _digest(again) == _digest(tenant)


def test_one_count_set_keeps_the_other_rule() -> None:
    default_missing, _ = _email_problems(list(generate(BASE).users().values()))
    assert default_missing > 0
    tenant = generate(_spec(duplicate_emails=4))
    missing, duplicates = _email_problems(list(tenant.users().values()))
    assert duplicates == 4 and missing == default_missing
    tenant = generate(_spec(missing_emails=2))
    missing, duplicates = _email_problems(list(tenant.users().values()))
    assert missing == 2 and duplicates == _email_problems(list(generate(BASE).users().values()))[1]


def test_default_rules_still_give_both_problems() -> None:
    missing, duplicates = _email_problems(list(generate(BASE).users().values()))
    assert missing > 0 and duplicates > 0


@pytest.mark.parametrize(
    "changes",
    [
        {"duplicate_emails": 1},
        {"missing_emails": -1},
        {"students_without_school": 121},
        {"teachers": -1},
        {"schools": 0},
        {"id_style": "uuid"},
        {"missing_emails": 100, "duplicate_emails": 100},
    ],
)
def test_impossible_specs_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _spec(**changes)
