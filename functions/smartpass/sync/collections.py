"""What each synced collection is: where it is read, which fields are asked for, how a OneRoster
record becomes the attributes we store, and which table holds it.

`fields=` names only what is stored (plus sourcedId and status), so a roster payload never
brings a password, phone number or guardian to us in the first place (classlink-facts B4, B7).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smartpass.classlink.records import AcademicSession, Enrollment, OneRosterRecord, Org, SchoolClass, User
from smartpass.data.roster import (
    RosterClass,
    RosterEnrollment,
    RosterOrg,
    RosterRecord,
    RosterTerm,
    RosterUser,
)

# OneRoster role -> SmartPass role. Guardians and other relatives are never synced (they have
# no use in a hall-pass app, and their contact data is exactly what we must not hold).
DEFAULT_ROLE_MAPPING: dict[str, str] = {
    "student": "student",
    "teacher": "teacher",
    "aide": "staff",
    "proctor": "staff",
    "counselor": "staff",
    "administrator": "admin",
    "principal": "admin",
    "siteadministrator": "admin",
    "districtadministrator": "admin",
    "systemadministrator": "admin",
    "guardian": "",
    "parent": "",
    "relative": "",
}

Attributes = dict[str, Any]


@dataclass(frozen=True)
class CollectionSpec:
    name: str  # the district setting's name
    endpoint: str  # the OneRoster endpoint
    envelope: str  # the key of the rows in a page (B7)
    fields: tuple[str, ...]
    record_type: type[OneRosterRecord]
    model: type[RosterRecord]
    # The attributes to store, or None when the record is not ours to keep (a guardian).
    to_attributes: Callable[[Any, Mapping[str, str]], Attributes | None]


def _user(record: User, roles: Mapping[str, str]) -> Attributes | None:
    app_role = roles.get(record.role, "")
    if not app_role:
        return None
    return {
        "role": record.role,
        "app_role": app_role,
        "given_name": record.given_name,
        "family_name": record.family_name,
        "email": record.email,
        "username": record.username,
        "enabled_user": record.enabled_user,
        "org_sourced_ids": sorted(o.sourcedId for o in record.orgs),
        "grades": list(record.grades),
    }


def _org(record: Org, _: Mapping[str, str]) -> Attributes:
    return {
        "name": record.name,
        "org_type": record.type,
        "parent_sourced_id": record.parent.sourcedId if record.parent else None,
    }


def _class(record: SchoolClass, _: Mapping[str, str]) -> Attributes:
    return {
        "title": record.title,
        "school_sourced_id": record.school.sourcedId,
        "term_sourced_ids": sorted(t.sourcedId for t in record.terms),
    }


def _enrollment(record: Enrollment, _: Mapping[str, str]) -> Attributes:
    return {
        "user_sourced_id": record.user.sourcedId,
        "class_sourced_id": record.class_.sourcedId,
        "school_sourced_id": record.school.sourcedId if record.school else None,
        "role": record.role,
        "primary": record.primary,
        "begin_date": record.begin_date,
        "end_date": record.end_date,
    }


def _term(record: AcademicSession, _: Mapping[str, str]) -> Attributes:
    return {
        "title": record.title,
        "session_type": record.type,
        "start_date": record.start_date,
        "end_date": record.end_date,
        "parent_sourced_id": record.parent.sourcedId if record.parent else None,
    }


COLLECTIONS: dict[str, CollectionSpec] = {
    spec.name: spec
    for spec in (
        CollectionSpec(
            "terms",
            "academicSessions",
            "academicSessions",
            ("sourcedId", "status", "title", "type", "startDate", "endDate", "parent"),
            AcademicSession,
            RosterTerm,
            _term,
        ),
        CollectionSpec(
            "orgs", "orgs", "orgs", ("sourcedId", "status", "name", "type", "parent"), Org, RosterOrg, _org
        ),
        CollectionSpec(
            "users",
            "users",
            "users",
            (
                "sourcedId",
                "status",
                "username",
                "enabledUser",
                "givenName",
                "familyName",
                "role",
                "email",
                "orgs",
                "grades",
            ),
            User,
            RosterUser,
            _user,
        ),
        CollectionSpec(
            "classes",
            "classes",
            "classes",
            ("sourcedId", "status", "title", "school", "terms"),
            SchoolClass,
            RosterClass,
            _class,
        ),
        CollectionSpec(
            "enrollments",
            "enrollments",
            "enrollments",
            ("sourcedId", "status", "user", "class", "school", "role", "primary", "beginDate", "endDate"),
            Enrollment,
            RosterEnrollment,
            _enrollment,
        ),
    )
}


def role_mapping(overrides: Mapping[str, str] | None) -> dict[str, str]:
    return {**DEFAULT_ROLE_MAPPING, **{k.lower(): v for k, v in (overrides or {}).items()}}


def content_hash(attributes: Attributes) -> str:
    """Stable over key order; changes when any stored value changes."""
    canonical = json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # 64 bits: a changed record keeps its hash by chance once in 2**64; held in memory as an
    # int during a pull, it costs a quarter of what the hex string would.
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()
