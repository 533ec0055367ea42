"""Deterministic synthetic districts: the same seed and sizes always give the same roster.

What a real ClassLink tenant holds (classlink-facts B7, C1): a district org and schools, terms,
courses, classes, students with guardians (`agents`), teachers, aides, administrators,
enrollments; plus the awkward cases a sync must survive: unenrolled staff, disabled users,
non-numeric sourcedIds, duplicate and missing e-mails, names with accents, apostrophes and
non-Latin scripts, and the fields we must never store (password, sms, phone, agents).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from classlink_sandbox.world import Record, Tenant

GIVEN = (
    "Ava Liam Noah Emma Olivia Mateo Sofia Lucas Mia Ethan Amara Kenji Zoe Omar Priya Diego "
    "Hana Malik Chloe Yusuf Ines Theo Lena Arjun Maya Caleb Nia Ivan Rosa Samir"
).split()
FAMILY = (
    "Garcia Smith Nguyen Johnson Patel Brown Kim Lopez Okafor Rossi Cohen Silva Haddad Novak "
    "Tanaka Murphy Reyes Ali Schmidt Dubois Walker Chen Singh Moreau Costa Ivanova Park Diaz"
).split()
# Names as a district's SIS exports them. Every user whose number n gives n % 10 in 1..5 gets one
# of these by rule (see `_name`), so even a district of a dozen users has each kind:
#   1: accented family name   2: accented given name   3: apostrophe in the family name
#   4: apostrophe in the given name   5: given and family name in a non-Latin script
# The pick within a pool rotates with n, so no random draw is added (same seed, same bytes).
ACCENTED_GIVEN = ("Zoë", "José", "Inés", "Søren", "Björn", "Renée", "Chloé", "Łucja")
ACCENTED_FAMILY = ("García", "Nguyễn", "Müller", "Ødegaard", "Peña", "Dvořák", "Çelik", "Wróbel")
APOSTROPHE_GIVEN = ("D'Andre", "Ja'Nya", "De'Shawn", "Ke'Ondra")
APOSTROPHE_FAMILY = ("O'Brien", "D'Angelo", "O'Connor", "D'Souza", "N'Diaye", "O'Neill")
NON_LATIN_GIVEN = ("美玲", "伟", "지민", "Дмитрий", "أحمد", "さくら", "Νίκος")
NON_LATIN_FAMILY = ("李", "王", "김", "Иванова", "حداد", "田中", "Παπαδόπουλος")
# Usernames and e-mail addresses stay ASCII (a sandbox choice: no source in classlink-facts says
# how districts spell logins for such names): non-Latin names are romanised, the rest lose their
# accents and apostrophes (`O'Brien` -> `obrien`, `Ødegaard` -> `odegaard`).
ROMANISED = {
    "美玲": "meiling",
    "伟": "wei",
    "지민": "jimin",
    "Дмитрий": "dmitry",
    "أحمد": "ahmed",
    "さくら": "sakura",
    "Νίκος": "nikos",
    "李": "li",
    "王": "wang",
    "김": "kim",
    "Иванова": "ivanova",
    "حداد": "haddad",
    "田中": "tanaka",
    "Παπαδόπουλος": "papadopoulos",
}
_NOT_DECOMPOSED = str.maketrans({"Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "ß": "ss", "Æ": "Ae", "æ": "ae"})
SUBJECTS = ("Math", "Science", "English", "History", "Art", "Music", "PE", "Spanish", "Computer Science")


@dataclass(frozen=True)
class DistrictSpec:
    tenant_id: int
    name: str
    seed: int = 1
    schools: int = 3
    students: int = 300
    teachers: int = 20
    aides: int = 4
    administrators: int = 3
    classes_per_teacher: int = 4
    classes_per_student: int = 5
    # How this district spells sourcedIds: "numeric" (18125), "prefixed" (S-000123) or
    # "composite" (5678_T5678-0005, as code.org saw live, classlink-facts A5).
    id_style: str = "composite"
    share_unenrolled: bool = False


def _name(n: int, given: str, family: str) -> tuple[str, str]:
    """User n's names: the plain random draw, or by rule one of the awkward kinds above."""
    kind, turn = n % 10, n // 10
    if kind == 1:
        return given, ACCENTED_FAMILY[turn % len(ACCENTED_FAMILY)]
    if kind == 2:
        return ACCENTED_GIVEN[turn % len(ACCENTED_GIVEN)], family
    if kind == 3:
        return given, APOSTROPHE_FAMILY[turn % len(APOSTROPHE_FAMILY)]
    if kind == 4:
        return APOSTROPHE_GIVEN[turn % len(APOSTROPHE_GIVEN)], family
    if kind == 5:
        return NON_LATIN_GIVEN[turn % len(NON_LATIN_GIVEN)], NON_LATIN_FAMILY[turn % len(NON_LATIN_FAMILY)]
    return given, family


def login_part(name: str) -> str:
    """The ASCII form of a name used in usernames and e-mail addresses."""
    if name.isascii() and name.isalnum():
        return name.lower()
    if name in ROMANISED:
        return ROMANISED[name]
    folded = unicodedata.normalize("NFKD", name.translate(_NOT_DECOMPOSED))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).lower()


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower().replace(" ", "") if ch.isalnum())[:24] or "district"


class _Ids:
    def __init__(self, style: str, tenant_id: int) -> None:
        self.style = style
        self.tenant_id = tenant_id

    def make(self, prefix: str, n: int) -> str:
        if self.style == "numeric":
            return str(10_000 + n) if prefix in ("S", "T", "A", "D", "G") else f"{prefix}{n}"
        if self.style == "prefixed":
            return f"{prefix}-{n:06d}"
        return f"{self.tenant_id}_{prefix}{self.tenant_id}-{n:04d}"


def generate(spec: DistrictSpec, base_href: str = "https://sandbox-vn-v2.rosterserver.com") -> Tenant:
    rng = random.Random(spec.seed)
    tenant = Tenant(
        tenant_id=spec.tenant_id,
        name=spec.name,
        slug=_slug(spec.name),
        share_unenrolled=spec.share_unenrolled,
    )
    href = f"{base_href}/ims/oneroster/v1p1"
    ids = _Ids(spec.id_style, spec.tenant_id)
    # A fixed import time keeps the same seed byte-for-byte the same district.
    stamp = "2026-08-01T06:00:00.000Z"
    data = tenant.data
    user_counter = iter(range(1, 10_000_000))
    emails: list[str] = []

    refs: dict[tuple[str, str], Record] = {}

    def ref(kind: str, collection: str, sourced_id: str) -> Record:
        # One shared object per referenced record: a 200,000-user district has ~1M references.
        found = refs.get((collection, sourced_id))
        if found is None:
            found = refs[(collection, sourced_id)] = {
                "href": f"{href}/{collection}/{sourced_id}",
                "sourcedId": sourced_id,
                "type": kind,
            }
        return found

    district_id = str(spec.tenant_id)
    data["orgs"][district_id] = {
        "sourcedId": district_id,
        "status": "active",
        "dateLastModified": stamp,
        "name": spec.name,
        "type": "district",
        "identifier": f"D{spec.tenant_id}",
        "parent": None,
        "children": [],
        "metadata": {},
    }
    school_ids = [f"{spec.tenant_id}{i + 1:02d}" for i in range(spec.schools)]
    school_refs = {s: [ref("org", "orgs", s)] for s in school_ids}
    for i, school in enumerate(school_ids):
        data["orgs"][school] = {
            "sourcedId": school,
            "status": "active",
            "dateLastModified": stamp,
            "name": f"{FAMILY[i % len(FAMILY)]} {('Elementary', 'Middle School', 'High School')[i % 3]}",
            "type": "school",
            "identifier": school,
            "parent": ref("org", "orgs", district_id),
            "children": [],
            "metadata": {},
        }
        data["orgs"][district_id]["children"].append(ref("org", "orgs", school))

    for term_id, title, start, end in (
        ("FY", "Full Year", "2026-08-24", "2027-06-15"),
        ("S1", "Semester 1", "2026-08-24", "2027-01-15"),
    ):
        data["academicSessions"][term_id] = {
            "sourcedId": term_id,
            "status": "active",
            "dateLastModified": stamp,
            "title": title,
            "type": "schoolYear" if term_id == "FY" else "semester",
            "startDate": start,
            "endDate": end,
            "parent": None,
            "schoolYear": "2027",
        }

    def new_user(role: str, school: str, prefix: str, grades: list[str]) -> Record:
        n = next(user_counter)
        sourced_id = ids.make(prefix, n)
        # Both draws always happen, so the rule in _name leaves the rest of the stream as it was.
        given, family = _name(n, rng.choice(GIVEN), rng.choice(FAMILY))
        username = f"{login_part(given)}.{login_part(family)}{n}"
        # Every 50th user has no e-mail and every 97th shares the previous user's (siblings,
        # shared staff inboxes): by rule rather than chance, so even small districts have both.
        if n % 50 == 0:
            email = ""
        elif n % 97 == 0 and emails:
            email = emails[-1]
        else:
            email = f"{username}@example.k12.us"
        emails.append(email)
        record = {
            "sourcedId": sourced_id,
            "status": "active",
            "dateLastModified": stamp,
            "username": username,
            "userIds": [
                {"type": "Fed", "identifier": sourced_id},
                {"type": "StateID", "identifier": f"{rng.randrange(10**9):09d}"},
            ],
            "enabledUser": "false" if n % 101 == 0 else "true",
            "givenName": given,
            "familyName": family,
            "middleName": rng.choice(("", "J", "Marie", "Lee")),
            "role": role,
            "identifier": str(rng.randrange(10**5, 10**6)),
            "email": email,
            "sms": "",
            "phone": f"555-{rng.randrange(10**4):04d}" if role != "student" else "",
            "agents": [],
            "orgs": school_refs[school],
            "grades": grades,
            "password": "",  # present in real payloads (B7): never to be stored or logged
        }
        data["users"][sourced_id] = record
        tenant.classlink_user_ids[sourced_id] = 1_000_000 + spec.tenant_id * 100_000 + n
        return record

    teachers = [new_user("teacher", school_ids[i % spec.schools], "T", []) for i in range(spec.teachers)]
    for i in range(spec.aides):
        new_user("aide", school_ids[i % spec.schools], "A", [])
    for i in range(spec.administrators):
        new_user("administrator", school_ids[i % spec.schools], "D", [])

    classes_by_school: dict[str, list[str]] = {s: [] for s in school_ids}
    course_number = 0
    for t_index, teacher in enumerate(teachers):
        school = teacher["orgs"][0]["sourcedId"]
        for c in range(spec.classes_per_teacher):
            course_number += 1
            subject = SUBJECTS[(t_index + c) % len(SUBJECTS)]
            course_id = f"{school}_{course_number}"
            data["courses"][course_id] = {
                "sourcedId": course_id,
                "status": "active",
                "dateLastModified": stamp,
                "title": f"{subject} {course_number}",
                "courseCode": f"{subject[:3].upper()}{course_number}",
                "org": ref("org", "orgs", school),
                "grades": [],
                "schoolYear": ref("academicSession", "academicSessions", "FY"),
            }
            class_id = f"{school}_{course_number}-{c + 1}"
            data["classes"][class_id] = {
                "sourcedId": class_id,
                "status": "active",
                "dateLastModified": stamp,
                "title": f"{subject} {course_number} ({c + 1})",
                "classCode": "",
                "classType": "scheduled",
                "location": str(100 + c),
                "grades": [],
                "subjects": [subject],
                "course": ref("course", "courses", course_id),
                "school": ref("org", "orgs", school),
                "terms": [ref("academicSession", "academicSessions", "FY")],
                "subjectCodes": [],
                "periods": [str(c + 1)],
                "resources": [],
            }
            classes_by_school[school].append(class_id)
            _enroll(data, ref, teacher["sourcedId"], class_id, school, "teacher", stamp)

    guardian_number = 0
    for s in range(spec.students):
        school = school_ids[s % spec.schools]
        grade = f"{rng.randrange(1, 13):02d}"
        student = new_user("student", school, "S", [grade])
        if rng.random() < 0.97 and classes_by_school[school]:  # ~3% are unenrolled
            chosen = rng.sample(
                classes_by_school[school], min(spec.classes_per_student, len(classes_by_school[school]))
            )
            for class_id in chosen:
                _enroll(data, ref, student["sourcedId"], class_id, school, "student", stamp)
        if rng.random() < 0.5:
            guardian_number += 1
            guardian_id = ids.make("G", 5_000_000 + guardian_number)
            student["agents"] = [ref("user", "users", guardian_id)]
            data["users"][guardian_id] = {
                "sourcedId": guardian_id,
                "status": "active",
                "dateLastModified": stamp,
                "username": "",
                "userIds": [],
                "enabledUser": "true",
                "givenName": rng.choice(GIVEN),
                "familyName": student["familyName"],
                "middleName": "",
                "role": "guardian",
                "identifier": "",
                "email": f"guardian{guardian_number}@example.com",
                "sms": f"+1555{rng.randrange(10**7):07d}",
                "phone": f"555-{rng.randrange(10**4):04d}",
                "agents": [ref("user", "users", student["sourcedId"])],
                "orgs": school_refs[school],
                "grades": [],
                "password": "",
            }
    return tenant


def _enroll(
    data: dict[str, dict[str, Record]],
    make_ref: Callable[[str, str, str], Record],
    user_id: str,
    class_id: str,
    school: str,
    role: str,
    stamp: str,
) -> None:
    enrollment_id = f"{class_id}:{user_id}"
    data["enrollments"][enrollment_id] = {
        "sourcedId": enrollment_id,
        "status": "active",
        "dateLastModified": stamp,
        "user": make_ref("user", "users", user_id),
        "class": make_ref("class", "classes", class_id),
        "school": make_ref("org", "orgs", school),
        "role": role,
        "primary": "true" if role == "teacher" else "false",
        "beginDate": "2026-08-24",
        "endDate": "2027-06-15",
    }
