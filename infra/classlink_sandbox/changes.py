"""Changing a district between syncs, as a district's SIS import or admin would.

Ops (JSON body of POST /admin/tenants/{id}/changes, or call apply_change directly):
  add_users        {"count": n, "role": "student"}         new users, enrolled like the rest
  edit_user        {"sourcedId": id, "fields": {...}}      changes fields, bumps dateLastModified
  mark_tobedeleted {"sourcedIds": [...], "collection"?}    status -> tobedeleted (B6)
  purge            {"sourcedIds": [...], "collection"?}    gone without trace, enrollments too (B6)
  disable_sharing / enable_sharing                         the app's Enabled toggle (C1)
  remove_app / add_app                                     the tenant leaves / joins /applications
  rotate_bearer                                            a new proxy bearer (B5: 401 -> refetch)
  oauth1_only      {"value": bool}                         row bearer null, proxy 401 (C3)
  share_unenrolled {"value": bool}                         the Unenrolled Users toggle (C1)
  set_tenant_status {"value": "Inactive"}                  the row's `tenant_status` in /applications

tenant_status (classlink-facts C2, C3): code.org saw only "Active" on live rows and keeps a
district only while its row says "Active". No source names the other values ClassLink uses, so
any non-empty string is accepted ("Inactive", "Suspended", ...; "Active" restores it). Only the
/applications row changes: nothing says whether ClassLink still serves data for such a tenant,
so its OneRoster reads keep working (remove_app and disable_sharing are what stop them).
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from classlink_sandbox.world import Record, Tenant, now_iso

_counter = itertools.count(1)


def apply_change(tenant: Tenant, change: dict[str, Any]) -> dict[str, Any]:
    op = change.get("op")
    collection = change.get("collection", "users")
    result: dict[str, Any] = {"op": op}
    if op == "add_users":
        result["added"] = [
            _add_user(tenant, change.get("role", "student")) for _ in range(int(change.get("count", 1)))
        ]
    elif op == "edit_user":
        record = tenant.users()[change["sourcedId"]]
        record.update(change.get("fields", {}))
        record["dateLastModified"] = now_iso()
    elif op == "mark_tobedeleted":
        for sourced_id in change["sourcedIds"]:
            tenant.data[collection][sourced_id].update(status="tobedeleted", dateLastModified=now_iso())
    elif op == "purge":
        for sourced_id in change["sourcedIds"]:
            tenant.data[collection].pop(sourced_id, None)
            if collection == "users":
                for key in [
                    k for k, e in tenant.data["enrollments"].items() if e["user"]["sourcedId"] == sourced_id
                ]:
                    del tenant.data["enrollments"][key]
    elif op in ("disable_sharing", "enable_sharing"):
        tenant.enabled = op == "enable_sharing"
    elif op in ("remove_app", "add_app"):
        tenant.listed = op == "add_app"
    elif op == "rotate_bearer":
        tenant.bearer = str(uuid.uuid4())
        result["bearer"] = tenant.bearer
    elif op == "share_unenrolled":
        tenant.share_unenrolled = bool(change.get("value", True))
    elif op == "oauth1_only":
        tenant.oauth1_only = bool(change.get("value", True))
    elif op == "set_tenant_status":
        status = change.get("value")
        if not isinstance(status, str) or not status.strip():
            raise ValueError('set_tenant_status needs a non-empty string value, e.g. "Inactive"')
        tenant.tenant_status = status
        result["tenant_status"] = status
    else:
        raise ValueError(f"unknown change op {op!r}")
    tenant.touch()
    return result


def _add_user(tenant: Tenant, role: str) -> str:
    # A user of the same role is the template; a district with none of that role (teachers=0,
    # aides=0, ...) lends any other non-guardian user, with a school if one has any.
    people = [u for u in tenant.users().values() if u["role"] != "guardian"]
    template = next((u for u in tenant.users().values() if u["role"] == role), None) or next(
        (u for u in people if u["orgs"]), people[0] if people else None
    )
    if template is None:
        raise ValueError(f"add_users: the district has no user to model a new {role} on")
    sourced_id = f"new-{tenant.tenant_id}-{next(_counter):06d}"
    record: Record = {
        **template,
        "role": role,
        "sourcedId": sourced_id,
        "status": "active",
        "dateLastModified": now_iso(),
        "username": f"new.user{sourced_id}",
        "email": f"{sourced_id}@example.k12.us",
        "givenName": "New",
        "familyName": f"User {sourced_id[-6:]}",
        "agents": [],
        "userIds": [{"type": "Fed", "identifier": sourced_id}],
    }
    tenant.users()[sourced_id] = record
    tenant.classlink_user_ids[sourced_id] = 9_000_000 + len(tenant.classlink_user_ids)
    a_class = next(iter(tenant.data["classes"].values()), None)
    if a_class is None:  # a district with no classes: the user stays unenrolled
        return sourced_id
    enrollment_id = f"{a_class['sourcedId']}:{sourced_id}"
    tenant.data["enrollments"][enrollment_id] = {
        "sourcedId": enrollment_id,
        "status": "active",
        "dateLastModified": now_iso(),
        "user": {
            "href": f"{tenant.href_base}/users/{sourced_id}",
            "sourcedId": sourced_id,
            "type": "user",
        },
        "class": {"href": "", "sourcedId": a_class["sourcedId"], "type": "class"},
        "school": a_class["school"],
        "role": role,
        "primary": "false",
        "beginDate": "2026-08-24",
        "endDate": "2027-06-15",
    }
    return sourced_id
