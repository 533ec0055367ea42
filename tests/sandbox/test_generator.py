"""Synthetic districts: deterministic, and full of the cases a sync must survive."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

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


def _kinds(name: str) -> set[str]:
    """Which awkward kinds a name shows: accented Latin, apostrophe, non-Latin script."""
    kinds = set()
    if "'" in name:
        kinds.add("apostrophe")
    for char in name:
        if char.isalpha() and not char.isascii():
            kinds.add("accented" if unicodedata.name(char).startswith("LATIN") else "non_latin")
    return kinds


@pytest.mark.parametrize(
    "spec",
    [
        SPEC,
        DistrictSpec(tenant_id=4002, name="Tiny", seed=3, students=24, teachers=2, aides=1, administrators=1),
        DistrictSpec(tenant_id=4003, name="T2", seed=99, students=5, teachers=1, aides=0, administrators=0),
    ],
)
def test_every_district_has_accented_apostrophe_and_non_latin_names(spec: DistrictSpec) -> None:
    people = [u for u in generate(spec).users().values() if u["role"] != "guardian"]
    for part in ("givenName", "familyName"):
        kinds = set().union(*(_kinds(u[part]) for u in people))
        assert kinds == {"accented", "apostrophe", "non_latin"}, (part, kinds)
    assert any(_kinds(u["givenName"]) == set() and _kinds(u["familyName"]) == set() for u in people)


def test_the_named_examples_all_appear_in_a_district_of_a_few_hundred() -> None:
    names = {u[part] for u in generate(SPEC).users().values() for part in ("givenName", "familyName")}
    examples = {"García", "O'Brien", "Zoë", "李", "Nguyễn", "Müller", "D'Angelo", "Ødegaard"}
    assert examples <= names, examples - names


def test_usernames_and_emails_stay_ascii_whatever_the_name() -> None:
    users = [u for u in generate(SPEC).users().values() if u["role"] != "guardian"]
    assert all(re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+\d+", u["username"]) for u in users)
    assert all(u["email"].isascii() for u in users)
    by_name = {(u["givenName"], u["familyName"]): u["username"] for u in users}
    obrien = next(v for (_, family), v in by_name.items() if family == "O'Brien")
    odegaard = next(v for (_, family), v in by_name.items() if family == "Ødegaard")
    li = next(v for (_, family), v in by_name.items() if family == "李")
    assert ".obrien" in obrien and ".odegaard" in odegaard and ".li" in li


def test_same_seed_same_bytes_across_processes_and_hash_seeds() -> None:
    """No set or hash order leaks into the output: two interpreters with different hash seeds
    write byte-identical districts, non-ASCII names included (ensure_ascii=False)."""
    script = (
        "import hashlib, json, sys\n"
        "from classlink_sandbox.generator import DistrictSpec, generate\n"
        "t = generate(DistrictSpec(tenant_id=4001, name='Cedar Unified', seed=42, students=80))\n"
        "blob = json.dumps([t.data, t.classlink_user_ids], ensure_ascii=False).encode()\n"
        "sys.stdout.write(hashlib.sha256(blob).hexdigest())\n"
    )
    infra = str(Path(__file__).resolve().parents[2] / "infra")
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": infra},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for hash_seed in ("1", "2")
    }
    here = generate(DistrictSpec(tenant_id=4001, name="Cedar Unified", seed=42, students=80))
    blob = json.dumps([here.data, here.classlink_user_ids], ensure_ascii=False).encode()
    assert digests == {hashlib.sha256(blob).hexdigest()}
