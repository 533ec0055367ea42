"""Deterministic synthetic districts: the same seed and sizes always give the same roster.

What a real ClassLink tenant holds (classlink-facts B7, C1): a district org and schools, terms,
courses, classes, students with guardians (`agents`), teachers, aides, administrators,
enrollments; plus the awkward cases a sync must survive: unenrolled staff, disabled users,
non-numeric sourcedIds, duplicate and missing e-mails, names with accents, apostrophes and
non-Latin scripts, and the fields we must never store (password, sms, phone, agents).

Each roster-health problem can also be dialled in exactly (see DistrictSpec): no teachers,
aides or administrators at all, students with no school, and exact numbers of users with a
missing or a duplicated e-mail. Left at their defaults, these options change nothing: the same
seed gives the same bytes as before they existed.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
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
    # The district's app settings when it is added (classlink-facts C1, C3). enabled=False: listed
    # in /applications with enabled "false" and no data served until `enable_sharing`.
    # listed=False: not in /applications at all until `add_app`.
    enabled: bool = True
    listed: bool = True
    # C3: the /applications row has `"bearer": null`; only direct OAuth1 (credentials from
    # GET /applications/{oneroster_application_id}/server) reaches the roster.
    oauth1_only: bool = False
    # Roster-health problems, each in an exact amount (0 / None: none beyond the default rules).
    # The last N students have `orgs: []` (no school); they are still enrolled in classes of the
    # school they would have had, so they are shared whatever the Unenrolled Users toggle says.
    students_without_school: int = 0
    # None keeps the built-in rule (every 97th user reuses the previous user's e-mail). A number
    # N: exactly N users (teachers, aides, administrators, students; never guardians) have an
    # e-mail that another user also has, in pairs (one group of three when N is odd; N=1 is
    # impossible), and no other user shares one.
    duplicate_emails: int | None = None
    # None keeps the built-in rule (every 50th user has ""). A number N: exactly N users
    # (never guardians) have e-mail "".
    # Users picked for either come from enrolled users first, so with enough of them the
    # counts hold in what GET /users shares even with Unenrolled Users off.
    missing_emails: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tenant_id, int) or isinstance(self.tenant_id, bool):
            raise ValueError("tenant_id must be an integer")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("name must be a non-empty string")
        counts = {
            "students": self.students,
            "teachers": self.teachers,
            "aides": self.aides,
            "administrators": self.administrators,
            "classes_per_teacher": self.classes_per_teacher,
            "classes_per_student": self.classes_per_student,
            "students_without_school": self.students_without_school,
            "duplicate_emails": self.duplicate_emails or 0,
            "missing_emails": self.missing_emails or 0,
        }
        for name, value in counts.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not isinstance(self.schools, int) or self.schools < 1:
            raise ValueError("schools must be at least 1")
        if self.id_style not in ("numeric", "prefixed", "composite"):
            raise ValueError("id_style must be numeric, prefixed or composite")
        if self.students_without_school > self.students:
            raise ValueError("students_without_school cannot exceed students")
        if self.duplicate_emails == 1:
            raise ValueError("duplicate_emails=1 is impossible: a duplicate takes two users")
        people = self.students + self.teachers + self.aides + self.administrators
        if (self.duplicate_emails or 0) + (self.missing_emails or 0) > people:
            raise ValueError("duplicate_emails + missing_emails exceed the number of users")


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


# A fixed import time keeps the same seed byte-for-byte the same district.
_STAMP = "2026-08-01T06:00:00.000Z"
_TERMS = (
    ("FY", "Full Year", "2026-08-24", "2027-06-15"),
    ("S1", "Semester 1", "2026-08-24", "2027-01-15"),
)
_SCHOOL_KINDS = ("Elementary", "Middle School", "High School")


def generate(spec: DistrictSpec, base_href: str = "https://sandbox-vn-v2.rosterserver.com") -> Tenant:
    builder = _DistrictBuilder(spec, base_href)
    builder.add_district_and_schools()
    builder.add_terms()
    teachers = builder.add_staff()
    classes_by_school = builder.add_courses_and_classes(teachers)
    builder.add_students(classes_by_school)
    if spec.missing_emails or spec.duplicate_emails:
        _exact_emails(builder.tenant, spec)
    return builder.tenant


class _DistrictBuilder:
    """One district's records, built in a fixed order from one random stream (spec.seed): the
    order of the draws is what makes the same seed give the same bytes."""

    def __init__(self, spec: DistrictSpec, base_href: str) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.tenant = Tenant(
            tenant_id=spec.tenant_id,
            name=spec.name,
            slug=_slug(spec.name),
            share_unenrolled=spec.share_unenrolled,
            enabled=spec.enabled,
            listed=spec.listed,
            oauth1_only=spec.oauth1_only,
        )
        self.href = self.tenant.href_base = f"{base_href}/ims/oneroster/v1p1"
        self.ids = _Ids(spec.id_style, spec.tenant_id)
        self.data = self.tenant.data
        self.user_counter = iter(range(1, 10_000_000))
        self.emails: list[str] = []
        self.refs: dict[tuple[str, str], Record] = {}
        self.district_id = str(spec.tenant_id)
        self.school_ids = [f"{spec.tenant_id}{i + 1:02d}" for i in range(spec.schools)]
        self.school_refs = {s: [self.ref("org", "orgs", s)] for s in self.school_ids}
        self.guardians = 0

    def ref(self, kind: str, collection: str, sourced_id: str) -> Record:
        # One shared object per referenced record: a 200,000-user district has ~1M references.
        found = self.refs.get((collection, sourced_id))
        if found is None:
            found = self.refs[(collection, sourced_id)] = {
                "href": f"{self.href}/{collection}/{sourced_id}",
                "sourcedId": sourced_id,
                "type": kind,
            }
        return found

    def add_district_and_schools(self) -> None:
        spec, orgs, district_id = self.spec, self.data["orgs"], self.district_id
        orgs[district_id] = {
            "sourcedId": district_id,
            "status": "active",
            "dateLastModified": _STAMP,
            "name": spec.name,
            "type": "district",
            "identifier": f"D{spec.tenant_id}",
            "parent": None,
            "children": [],
            "metadata": {},
        }
        for i, school in enumerate(self.school_ids):
            orgs[school] = {
                "sourcedId": school,
                "status": "active",
                "dateLastModified": _STAMP,
                "name": f"{FAMILY[i % len(FAMILY)]} {_SCHOOL_KINDS[i % 3]}",
                "type": "school",
                "identifier": school,
                "parent": self.ref("org", "orgs", district_id),
                "children": [],
                "metadata": {},
            }
            orgs[district_id]["children"].append(self.ref("org", "orgs", school))

    def add_terms(self) -> None:
        for term_id, title, start, end in _TERMS:
            self.data["academicSessions"][term_id] = {
                "sourcedId": term_id,
                "status": "active",
                "dateLastModified": _STAMP,
                "title": title,
                "type": "schoolYear" if term_id == "FY" else "semester",
                "startDate": start,
                "endDate": end,
                "parent": None,
                "schoolYear": "2027",
            }

    def add_staff(self) -> list[Record]:
        """Teachers, aides and administrators, spread over the schools in turn; the teachers."""
        spec, school_ids = self.spec, self.school_ids
        teachers = [
            self.new_user("teacher", school_ids[i % spec.schools], "T", []) for i in range(spec.teachers)
        ]
        for i in range(spec.aides):
            self.new_user("aide", school_ids[i % spec.schools], "A", [])
        # The first administrator works for the district itself (their org is the district, as a
        # superintendent's office is rostered); the others for a school (OneRoster 1.1 gives a
        # principal the same `administrator` role).
        district = [self.ref("org", "orgs", self.district_id)]
        for i in range(spec.administrators):
            self.new_user(
                "administrator", school_ids[i % spec.schools], "D", [], district if i == 0 else None
            )
        return teachers

    def _email(self, n: int, username: str) -> str:
        # Every 50th user has no e-mail and every 97th shares the previous user's (siblings,
        # shared staff inboxes): by rule rather than chance, so even small districts have both.
        # An exact count in the spec turns its rule off (_exact_emails sets them afterwards).
        if self.spec.missing_emails is None and n % 50 == 0:
            return ""
        if self.spec.duplicate_emails is None and n % 97 == 0 and self.emails:
            return self.emails[-1]
        return f"{username}@example.k12.us"

    def new_user(
        self, role: str, school: str, prefix: str, grades: list[str], orgs: list[Record] | None = None
    ) -> Record:
        rng = self.rng
        n = next(self.user_counter)
        sourced_id = self.ids.make(prefix, n)
        # Both draws always happen, so the rule in _name leaves the rest of the stream as it was.
        given, family = _name(n, rng.choice(GIVEN), rng.choice(FAMILY))
        username = f"{login_part(given)}.{login_part(family)}{n}"
        email = self._email(n, username)
        self.emails.append(email)
        record = {
            "sourcedId": sourced_id,
            "status": "active",
            "dateLastModified": _STAMP,
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
            "orgs": self.school_refs[school] if orgs is None else orgs,
            "grades": grades,
            "password": "",  # present in real payloads (B7): never to be stored or logged
        }
        self.data["users"][sourced_id] = record
        self.tenant.classlink_user_ids[sourced_id] = 1_000_000 + self.spec.tenant_id * 100_000 + n
        return record

    def add_courses_and_classes(self, teachers: list[Record]) -> dict[str, list[str]]:
        """Classes come in sets of classes_per_teacher, one set per teacher, each class with its
        own course. A district that shares no teachers still has classes (one set per school, no
        teacher enrolled: the Partner Portal's Sanity Check finding "classes with no teachers",
        C2), so its students are enrolled. Returns each school's class ids."""
        classes_by_school: dict[str, list[str]] = {s: [] for s in self.school_ids}
        course_number = 0
        owners: list[tuple[str, Record | None]] = [(t["orgs"][0]["sourcedId"], t) for t in teachers] or [
            (s, None) for s in self.school_ids
        ]
        for t_index, (school, teacher) in enumerate(owners):
            for c in range(self.spec.classes_per_teacher):
                course_number += 1
                subject = SUBJECTS[(t_index + c) % len(SUBJECTS)]
                class_id = self._add_course_and_class(school, subject, course_number, c)
                classes_by_school[school].append(class_id)
                if teacher is not None:
                    _enroll(self.data, self.ref, teacher["sourcedId"], class_id, school, "teacher", _STAMP)
        return classes_by_school

    def _add_course_and_class(self, school: str, subject: str, course_number: int, c: int) -> str:
        """Course `course_number` and its one class, the teacher's c-th (from 0); the class id."""
        ref = self.ref
        course_id = f"{school}_{course_number}"
        self.data["courses"][course_id] = {
            "sourcedId": course_id,
            "status": "active",
            "dateLastModified": _STAMP,
            "title": f"{subject} {course_number}",
            "courseCode": f"{subject[:3].upper()}{course_number}",
            "org": ref("org", "orgs", school),
            "grades": [],
            "schoolYear": ref("academicSession", "academicSessions", "FY"),
        }
        class_id = f"{school}_{course_number}-{c + 1}"
        self.data["classes"][class_id] = {
            "sourcedId": class_id,
            "status": "active",
            "dateLastModified": _STAMP,
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
        return class_id

    def add_students(self, classes_by_school: dict[str, list[str]]) -> None:
        """Students, in turn over the schools, enrolled in classes of their school; about half
        with a guardian. The last spec.students_without_school have no school."""
        spec, rng = self.spec, self.rng
        first_without_school = spec.students - spec.students_without_school
        for s in range(spec.students):
            school = self.school_ids[s % spec.schools]
            grade = f"{rng.randrange(1, 13):02d}"
            without_school = s >= first_without_school
            student = self.new_user("student", school, "S", [grade], [] if without_school else None)
            # ~3% are unenrolled; a student with no school is always enrolled (so always shared).
            if (rng.random() < 0.97 or without_school) and classes_by_school[school]:
                self._enroll_student(student, school, classes_by_school[school])
            if rng.random() < 0.5:
                self._add_guardian(student)

    def _enroll_student(self, student: Record, school: str, school_classes: list[str]) -> None:
        chosen = self.rng.sample(school_classes, min(self.spec.classes_per_student, len(school_classes)))
        for class_id in chosen:
            _enroll(self.data, self.ref, student["sourcedId"], class_id, school, "student", _STAMP)

    def _add_guardian(self, student: Record) -> None:
        rng = self.rng
        self.guardians += 1
        guardian_number = self.guardians
        guardian_id = self.ids.make("G", 5_000_000 + guardian_number)
        student["agents"] = [self.ref("user", "users", guardian_id)]
        self.data["users"][guardian_id] = {
            "sourcedId": guardian_id,
            "status": "active",
            "dateLastModified": _STAMP,
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
            "agents": [self.ref("user", "users", student["sourcedId"])],
            "orgs": student["orgs"],
            "grades": [],
            "password": "",
        }


def _exact_emails(tenant: Tenant, spec: DistrictSpec) -> None:
    """Exactly spec.missing_emails users with e-mail "" and spec.duplicate_emails users whose
    address another user also has, picked (by a generator of their own, so the seed still fixes
    the bytes) from users whose address was unique, enrolled ones first."""
    missing, duplicates = spec.missing_emails or 0, spec.duplicate_emails or 0
    people = [u for u in tenant.users().values() if u["role"] != "guardian"]
    counts = Counter(u["email"] for u in people)
    enrolled = tenant.enrolled_user_ids()
    plain = [u for u in people if u["email"] and counts[u["email"]] == 1]
    shared = [u for u in plain if u["sourcedId"] in enrolled]
    others = [u for u in plain if u["sourcedId"] not in enrolled]
    need = missing + duplicates
    if need > len(plain):
        raise ValueError(f"only {len(plain)} users can take a missing or duplicate e-mail, {need} asked")
    picker = random.Random(f"emails:{spec.seed}:{spec.tenant_id}")
    if need <= len(shared):
        chosen = picker.sample(shared, need)
    else:
        chosen = shared + picker.sample(others, need - len(shared))
    for user in chosen[:missing]:
        user["email"] = ""
    group_members = chosen[missing:]
    groups = [group_members[i : i + 2] for i in range(0, len(group_members), 2)]
    if groups and len(groups[-1]) == 1:
        groups[-2].extend(groups.pop())  # an odd count: the last group has three users
    for group in groups:
        for user in group[1:]:
            user["email"] = group[0]["email"]


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
