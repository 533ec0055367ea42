"""OneRoster v1p1 reads as ClassLink's Roster Server answers them.

classlink-facts B3/B4/B7: envelopes keyed by type (`{"users": [...]}`, single `{"user": {...}}`),
`limit` up to 10,000 and `offset`, `sort` + `orderBy` (asc|desc; anything else is ignored, as
code.org saw `dsc` ignored), `filter` with = != > >= < <= ~ joined by AND / OR without
parentheses (AND binds tighter; a quote inside a value is doubled or backslash-escaped, see
parse_filter), `fields=` selection (unknown fields are left out, not refused), lowercase
x-count / x-total-count / x-perm-rev headers. Errors carry an imsx_StatusInfo body (B5).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from classlink_sandbox.world import Record, Tenant

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100

FIELDS: dict[str, tuple[str, ...]] = {
    "orgs": (
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "name",
        "type",
        "identifier",
        "parent",
        "children",
    ),
    "academicSessions": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parent",
        "schoolYear",
    ),
    "courses": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "courseCode",
        "org",
        "grades",
        "schoolYear",
    ),
    "classes": (
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "classCode",
        "classType",
        "location",
        "grades",
        "subjects",
        "course",
        "school",
        "terms",
        "subjectCodes",
        "periods",
        "resources",
    ),
    "users": (
        "sourcedId",
        "status",
        "dateLastModified",
        "username",
        "userIds",
        "enabledUser",
        "givenName",
        "familyName",
        "middleName",
        "role",
        "identifier",
        "email",
        "sms",
        "phone",
        "agents",
        "orgs",
        "grades",
        "password",
    ),
    "enrollments": (
        "sourcedId",
        "status",
        "dateLastModified",
        "user",
        "class",
        "school",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ),
}
SINGULAR = {
    "orgs": "org",
    "academicSessions": "academicSession",
    "courses": "course",
    "classes": "class",
    "users": "user",
    "enrollments": "enrollment",
}
# Endpoint name -> (stored collection, extra predicate on records)
ENDPOINTS: dict[str, tuple[str, tuple[str, str] | None]] = {
    "orgs": ("orgs", None),
    "schools": ("orgs", ("type", "school")),
    "academicSessions": ("academicSessions", None),
    "terms": ("academicSessions", ("type", "term")),
    "courses": ("courses", None),
    "classes": ("classes", None),
    "users": ("users", None),
    "students": ("users", ("role", "student")),
    "teachers": ("users", ("role", "teacher")),
    "enrollments": ("enrollments", None),
}


class OneRosterError(Exception):
    def __init__(self, status: int, code_minor: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code_minor = code_minor
        self.description = description

    def body(self) -> dict[str, Any]:
        return {
            "imsx_StatusInfo": {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_description": self.description,
                "imsx_CodeMinor": {
                    "imsx_codeMinorField": [
                        {
                            "imsx_codeMinorFieldName": "TargetEndSystem",
                            "imsx_codeMinorFieldValue": self.code_minor,
                        }
                    ]
                },
            }
        }


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str
    value: str

    def test(self, record: Record) -> bool:
        # Dotted fields reach into objects and lists of objects (orgs.sourcedId, class.sourcedId).
        values: list[Any] = [record]
        for part in self.field.split("."):
            values = [v.get(part) for v in values if isinstance(v, dict)]
            values = [item for v in values for item in (v if isinstance(v, list) else [v])]
        return any(self._compare("" if v is None else str(v)) for v in values)

    def _compare(self, actual: str) -> bool:
        match self.op:
            case "=":
                return actual == self.value
            case "!=":
                return actual != self.value
            case ">":
                return actual > self.value
            case ">=":
                return actual >= self.value
            case "<":
                return actual < self.value
            case "<=":
                return actual <= self.value
            case _:  # "~": contains
                return self.value.lower() in actual.lower()


# A predicate up to the quote that opens its value.
_PREDICATE_HEAD = re.compile(r"\s*([A-Za-z][\w.]*)\s*(!=|>=|<=|=|>|<|~)\s*'")
_JOINER = re.compile(r"\s+(AND|OR)\s+")


def parse_filter(text: str, collection: str) -> list[list[Predicate]]:
    """OR of AND-groups (B4: ClassLink groups AND without parentheses).

    A quote inside a value: classlink-facts B4 gives the form `<field><op>'<value>'` but says
    nothing (anywhere in the file) on how a `'` inside the value is written. So the
    sandbox accepts both usual spellings: the SQL-style doubled quote (`familyName='O''Brien'`) and
    a backslash-escaped one (`familyName='O\\'Brien'`); `\\\\` stands for one backslash and any
    other backslash is literal.
    AND and OR inside a quoted value are part of the value.
    """
    groups: list[list[Predicate]] = [[]]
    position = 0
    while True:
        head = _PREDICATE_HEAD.match(text, position)
        if head is None:
            raise OneRosterError(
                400, "invalid_filter_field", f"cannot parse filter predicate {text[position:]!r}"
            )
        field, op = head.groups()
        value, position = _quoted_value(text, head.end())
        if field.split(".")[0] not in FIELDS[collection]:
            raise OneRosterError(400, "invalid_filter_field", f"{field} is not a field of {collection}")
        groups[-1].append(Predicate(field, op, value))
        if not text[position:].strip():
            return groups
        joiner = _JOINER.match(text, position)
        if joiner is None:
            raise OneRosterError(400, "invalid_filter_field", f"expected AND or OR at {text[position:]!r}")
        if joiner.group(1) == "OR":
            groups.append([])
        position = joiner.end()


def _quoted_value(text: str, position: int) -> tuple[str, int]:
    """The value that starts just after an opening quote, and where the text goes on after it."""
    chars: list[str] = []
    while position < len(text):
        char, following = text[position], text[position + 1 : position + 2]
        if char == "\\" and following in ("'", "\\"):
            chars.append(following)
            position += 2
        elif char == "'" and following == "'":
            chars.append("'")
            position += 2
        elif char == "'":
            return "".join(chars), position + 1
        else:
            chars.append(char)
            position += 1
    raise OneRosterError(400, "invalid_filter_field", f"unterminated quoted value in filter {text!r}")


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise OneRosterError(400, "invalid_data", f"{name} must be a non-negative integer")
    return int(raw)


@dataclass
class Page:
    envelope: str
    rows: list[Record]
    total: int
    offset: int = 0
    limit: int = DEFAULT_LIMIT  # the page size used: the limit asked for, capped


class QueryEngine:
    """Sorted and filtered views are cached per tenant version, so paging through 200,000
    users sorts them once, not once per page."""

    def __init__(self, cache_size: int = 16) -> None:
        self._cache: OrderedDict[tuple[Any, ...], list[Record]] = OrderedDict()
        self._cache_size = cache_size
        self._enrolled: tuple[tuple[int, int], frozenset[str]] | None = None

    def visible(self, tenant: Tenant, collection: str) -> list[Record]:
        key = (tenant.serial, tenant.version, "visible", collection)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        rows = [
            r for r in tenant.data[collection].values() if self._shared(tenant, collection, r["sourcedId"])
        ]
        return self._cache_put(key, rows)

    def _shared(self, tenant: Tenant, collection: str, sourced_id: str) -> bool:
        """Unenrolled users reach the vendor only with the Unenrolled Users toggle (C1)."""
        if collection != "users" or tenant.share_unenrolled:
            return True
        if self._enrolled is None or self._enrolled[0] != (tenant.serial, tenant.version):
            self._enrolled = ((tenant.serial, tenant.version), frozenset(tenant.enrolled_user_ids()))
        return sourced_id in self._enrolled[1]

    def select(
        self, tenant: Tenant, endpoint: str, params: dict[str, str], within: set[str] | None = None
    ) -> tuple[list[Record], str]:
        if endpoint not in ENDPOINTS:
            raise OneRosterError(404, "unknownobject", f"unknown endpoint {endpoint}")
        collection, fixed = ENDPOINTS[endpoint]
        sort = params.get("sort", "")
        order = params.get("orderBy", "asc")
        if sort and sort not in FIELDS[collection]:
            raise OneRosterError(400, "invalid_sort_field", f"{sort} is not a field of {collection}")
        filter_text = params.get("filter", "")
        key = (
            tenant.serial,
            tenant.version,
            endpoint,
            filter_text,
            sort,
            order,
            None if within is None else frozenset(within),
        )
        cached = self._cache_get(key)
        if cached is not None:
            return cached, collection
        rows = self.visible(tenant, collection)
        if fixed:
            rows = [r for r in rows if r.get(fixed[0]) == fixed[1]]
        if within is not None:
            rows = [r for r in rows if r["sourcedId"] in within]
        if filter_text:
            groups = parse_filter(filter_text, collection)
            rows = [r for r in rows if any(all(p.test(r) for p in g) for g in groups)]
        if sort:
            rows = sorted(rows, key=lambda r: str(r.get(sort, "")), reverse=(order == "desc"))
        return self._cache_put(key, rows), collection

    def page(
        self,
        tenant: Tenant,
        endpoint: str,
        params: dict[str, str],
        within: set[str] | None = None,
        cap: int | None = None,
    ) -> Page:
        """One page; `cap` is the most rows the server puts in a page whatever `limit` asks."""
        rows, collection = self.select(tenant, endpoint, params, within)
        limit = min(_int_param(params, "limit", DEFAULT_LIMIT), MAX_LIMIT, cap or MAX_LIMIT)
        offset = _int_param(params, "offset", 0)
        chosen = rows[offset : offset + limit] if limit else []
        return Page(
            collection, project(chosen, params.get("fields", ""), collection), len(rows), offset, limit
        )

    def one(
        self, tenant: Tenant, endpoint: str, sourced_id: str, params: dict[str, str]
    ) -> tuple[str, Record]:
        if endpoint not in ENDPOINTS:
            raise OneRosterError(404, "unknownobject", f"unknown endpoint {endpoint}")
        collection, fixed = ENDPOINTS[endpoint]
        record = tenant.data[collection].get(sourced_id)
        if (
            record is None
            or not self._shared(tenant, collection, sourced_id)
            or (fixed and record.get(fixed[0]) != fixed[1])
        ):
            raise OneRosterError(
                404, "unknownobject", f"no {SINGULAR[collection]} with sourcedId {sourced_id}"
            )
        return SINGULAR[collection], project([record], params.get("fields", ""), collection)[0]

    def _cache_get(self, key: tuple[Any, ...]) -> list[Record] | None:
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    def _cache_put(self, key: tuple[Any, ...], rows: list[Record]) -> list[Record]:
        self._cache[key] = rows
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return rows


def project(rows: list[Record], fields_param: str, collection: str) -> list[Record]:
    """`fields=` selection. A field the sandbox does not know is left out of the records, not
    refused: psd401 asks live ClassLink v1p1 for `roles` (classlink-facts B4, B8) and gets data
    back, so a 400 here would fail a request the real server answers."""
    if not fields_param:
        return rows
    wanted = [f.strip() for f in fields_param.split(",") if f.strip()]
    return [{f: r[f] for f in wanted if f in r} for r in rows]


def related_ids(tenant: Tenant, parent_endpoint: str, parent_id: str, child_endpoint: str) -> set[str]:
    """sourcedIds of the children for nested reads such as /classes/{id}/students."""
    enrollments = tenant.data["enrollments"].values()
    if parent_endpoint == "classes" and child_endpoint in ("students", "teachers", "users"):
        role = {"students": "student", "teachers": "teacher"}.get(child_endpoint)
        return {
            e["user"]["sourcedId"]
            for e in enrollments
            if e["class"]["sourcedId"] == parent_id and (role is None or e["role"] == role)
        }
    if parent_endpoint in ("teachers", "students", "users") and child_endpoint == "classes":
        return {e["class"]["sourcedId"] for e in enrollments if e["user"]["sourcedId"] == parent_id}
    if parent_endpoint in ("schools", "orgs") and child_endpoint == "classes":
        return {
            c["sourcedId"] for c in tenant.data["classes"].values() if c["school"]["sourcedId"] == parent_id
        }
    if parent_endpoint in ("schools", "orgs") and child_endpoint in ("students", "teachers", "users"):
        return {
            u["sourcedId"]
            for u in tenant.data["users"].values()
            if any(o["sourcedId"] == parent_id for o in u["orgs"])
        }
    if parent_endpoint in ("schools", "orgs") and child_endpoint == "enrollments":
        return {e["sourcedId"] for e in enrollments if e["school"]["sourcedId"] == parent_id}
    if parent_endpoint == "classes" and child_endpoint == "enrollments":
        return {e["sourcedId"] for e in enrollments if e["class"]["sourcedId"] == parent_id}
    raise OneRosterError(404, "unknownobject", f"unknown endpoint {parent_endpoint}/{{id}}/{child_endpoint}")
