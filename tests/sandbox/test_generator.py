"""Synthetic districts: deterministic, and full of the cases a sync must survive."""

from __future__ import annotations

import json
import re
from collections import Counter

from classlink_sandbox.generator import DistrictSpec, generate

SPEC = DistrictSpec(
    tenant_id=4001, name="Cedar Unified", seed=42, students=600, teachers=30, aides=5, administrators=4
)


def test_same_seed_same_district_other_seed_other_district() -> None:
    first, second = generate(SPEC), generate(SPEC)
    other = generate(DistrictSpec(**{**SPEC.__dict__, "seed": 43}))
    assert json.dumps(first.data) == json.dumps(second.data)
    assert json.dumps(first.data) != json.dumps(other.data)
    assert first.classlink_user_ids == second.classlink_user_ids


def test_roles_and_collections_are_all_present() -> None:
    tenant = generate(SPEC)
    roles = Counter(u["role"] for u in tenant.users().values())
    assert roles["student"] == 600 and roles["teacher"] == 30 and roles["aide"] == 5
    assert roles["administrator"] == 4 and roles["guardian"] > 100
    assert all(tenant.data[c] for c in ("orgs", "academicSessions", "courses", "classes", "enrollments"))
    assert {o["type"] for o in tenant.data["orgs"].values()} == {"district", "school"}


def test_awkward_cases_a_sync_must_survive() -> None:
    users = generate(SPEC).users().values()
    tenant = generate(SPEC)
    emails = Counter(u["email"] for u in users if u["email"])
    assert any(u["email"] == "" for u in users), "missing e-mails"
    assert any(n > 1 for n in emails.values()), "duplicate e-mails"
    assert any(u["enabledUser"] == "false" for u in users), "disabled users"
    assert all(not u["sourcedId"].isdigit() for u in users), "non-numeric sourcedIds"
    enrolled = tenant.enrolled_user_ids()
    unenrolled_students = [
        u for u in tenant.users().values() if u["role"] == "student" and u["sourcedId"] not in enrolled
    ]
    assert unenrolled_students, "unenrolled students"
    assert all(
        u["sourcedId"] not in enrolled for u in tenant.users().values() if u["role"] == "administrator"
    )


def test_id_styles() -> None:
    numeric = generate(DistrictSpec(tenant_id=5, name="N", students=5, teachers=1, id_style="numeric"))
    prefixed = generate(DistrictSpec(tenant_id=6, name="P", students=5, teachers=1, id_style="prefixed"))
    assert any(s.isdigit() for s in numeric.users())
    assert all(re.fullmatch(r"[SGTAD]-\d{6,7}", s) for s in prefixed.users())
