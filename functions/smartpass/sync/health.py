"""Roster health: what a district's synced roster lacks, in words a district IT admin acts on.

Read from what the sync stored (projected queries on the district's partition), not from the
pull, so a run split over several invocations is judged on the whole roster. Each finding says
what is wrong, how many it touches and the fix in ClassLink or the SIS (classlink-facts C1:
only enrolled users are shared unless Unenrolled Users is on).

Reading a 500,000-user district takes a while, so the reader is given the invocation's time: it
looks at the clock every RECORDS_PER_TIME_CHECK records and stops with HealthOutOfTime when less
than the reserve is left (the report then waits for a piece of its own, report_delivery.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from smartpass.data.roster import RosterOrg, RosterUser
from smartpass.data.roster_store import RosterReader

# Counted by the SmartPass role the district's role mapping gave (so a principal or a counselor
# counts as staff, whatever OneRoster calls them).
STUDENT_ROLES = frozenset({"student"})
TEACHER_ROLES = frozenset({"teacher"})
STAFF_ROLES = frozenset({"staff", "admin"})
RECORDS_PER_TIME_CHECK = 1_000
HEALTH_RESERVE_SECONDS = 10.0  # left for sending the report and the run's bookkeeping


class HealthOutOfTime(Exception):
    """The invocation's time ran short before the whole roster was read."""


def _timed[T](records: Iterable[T], time_left: Callable[[], float] | None) -> Iterator[T]:
    for n, record in enumerate(records, 1):
        if time_left is not None and n % RECORDS_PER_TIME_CHECK == 0 and time_left() < HEALTH_RESERVE_SECONDS:
            raise HealthOutOfTime(f"read {n} records before the time ran short")
        yield record


@dataclass(frozen=True)
class Finding:
    code: str
    count: int
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "count": self.count, "message": self.message, "fix": self.fix}


@dataclass
class RosterHealth:
    synced: dict[str, int] = field(default_factory=dict)  # schools, students, teachers, staff
    findings: list[Finding] = field(default_factory=list)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def roster_health(
    reader: RosterReader, tenant_id: str, time_left: Callable[[], float] | None = None
) -> RosterHealth:
    """With `time_left`, raises HealthOutOfTime rather than run past the invocation's end."""
    if time_left is not None and time_left() < HEALTH_RESERVE_SECONDS:
        raise HealthOutOfTime("no time left to start reading")
    schools = {
        org.sourced_id
        for org in _timed(
            reader.records(RosterOrg, tenant_id, ["sourced_id", "org_type", "active"]), time_left
        )
        if org.active and org.org_type == "school"
    }
    roles: Counter[str] = Counter()
    emails: Counter[str] = Counter()
    no_email = 0
    students_without_school = 0
    users = reader.records(
        RosterUser, tenant_id, ["sourced_id", "app_role", "email", "org_sourced_ids", "active"]
    )
    for user in _timed(users, time_left):
        if not user.active:
            continue
        roles[user.app_role] += 1
        email = (user.email or "").strip().lower()
        if email:
            emails[email] += 1
        else:
            no_email += 1
        if user.app_role in STUDENT_ROLES and not set(user.org_sourced_ids or []) & schools:
            students_without_school += 1

    students = sum(roles[r] for r in STUDENT_ROLES)
    teachers = sum(roles[r] for r in TEACHER_ROLES)
    staff = sum(roles[r] for r in STAFF_ROLES)
    shared_email_users = sum(n for n in emails.values() if n > 1)
    health = RosterHealth(
        synced={"schools": len(schools), "students": students, "teachers": teachers, "staff": staff}
    )
    add = health.findings.append
    if not schools:
        add(
            Finding(
                "no_schools",
                0,
                "No schools were shared.",
                "In ClassLink Roster Server, open the SmartPass app's data sharing rules and include "
                "your schools.",
            )
        )
    if not students:
        add(
            Finding(
                "no_students",
                0,
                "No students were shared.",
                "Check the SmartPass app's data sharing rules in ClassLink Roster Server: students must "
                "be included.",
            )
        )
    if not teachers:
        add(
            Finding(
                "no_teachers",
                0,
                "No teachers were shared.",
                "Check the SmartPass app's data sharing rules in ClassLink Roster Server: teachers and their "
                "classes must be included.",
            )
        )
    if not staff:
        add(
            Finding(
                "no_staff",
                0,
                "Administrators and office staff are missing.",
                "Turn on Unenrolled Users for the SmartPass app in ClassLink Roster Server: staff who teach "
                "no class are only shared with it on.",
            )
        )
    if students_without_school:
        add(
            Finding(
                "students_without_school",
                students_without_school,
                f"{_plural(students_without_school, 'student belongs', 'students belong')} to no school.",
                "Assign them to a school in your SIS, or share their school with SmartPass in Roster Server; "
                "SmartPass shows students by school.",
            )
        )
    if shared_email_users:
        add(
            Finding(
                "shared_emails",
                shared_email_users,
                f"{_plural(shared_email_users, 'user shares', 'users share')} an e-mail.",
                "Give each person their own address in your SIS; until then they can sign in only through "
                "ClassLink, not with e-mail.",
            )
        )
    if no_email:
        add(
            Finding(
                "missing_emails",
                no_email,
                f"{_plural(no_email, 'user has', 'users have')} no e-mail, "
                "so they cannot use e-mail sign-in.",
                "Add their e-mail addresses in your SIS, or have them sign in through ClassLink LaunchPad.",
            )
        )
    return health
