"""Who is signing in: a ClassLink identity (my/info) resolved to a rostered SmartPass user.

Identity is (TenantId, SourcedId) from my/info (classlink-facts A5: ClassLink confirmed that
SourcedId equals the OneRoster sourcedId), then the ClassLink UserId stored at an earlier
sign-in (for a district without OneRoster SourcedId, or a sourcedId that changed). Never by
e-mail. A refusal carries a reason code, the same one the page, the log line and the metric use.

The rules about the district and the rostered user are plain functions (`district_refusals`,
`user_refusals`), so the operators' sign-in check (smartpass.operations.signin_check) applies
exactly the rules a sign-in does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smartpass.classlink.oidc import MyInfo
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.stores import Stores

# SmartPass roles that may sign in (the district's role mapping gives every user one).
ALLOWED_APP_ROLES = frozenset({"student", "teacher", "staff", "admin"})
DISTRICT_FIELDS = ["tenant_id", "state", "sharing_enabled", "first_synced_at"]
USER_FIELDS = [
    "tenant_id",
    "sourced_id",
    "active",
    "enabled_user",
    "app_role",
    "role",  # the OneRoster role: who may review the district's held syncs (district_admin.py)
    "org_sourced_ids",
    "classlink_user_id",
]


@dataclass(frozen=True)
class Person:
    tenant_id: str
    sourced_id: str
    role: str
    school_ids: tuple[str, ...]
    classlink_user_id: str
    roster_role: str = ""  # the OneRoster role, lowercase (student, teacher, administrator...)
    # The id_token's `sub` is not my/info's UserId. Not refused (that they are the same value is
    # not confirmed by ClassLink), counted by the handler so a pattern would show.
    sub_differs: bool = False


@dataclass(frozen=True)
class Refusal:
    reason: str  # district_not_connected, district_paused, district_not_synced, user_not_shared, ...


def district_refusals(district: District | None) -> list[str]:
    """Why nobody of this district can sign in now (empty: the district allows sign-in), most
    telling first: a sign-in is refused with the first, the operators' check shows them all."""
    if district is None:
        return ["district_not_connected"]
    reasons = []
    if district.state == DistrictState.PAUSED.value or not district.sharing_enabled:
        reasons.append("district_paused")
    if district.first_synced_at is None:
        reasons.append("district_not_synced")
    return reasons


def user_refusals(user: RosterUser) -> list[str]:
    """Why this rostered user cannot sign in (empty: they may), in the order a sign-in checks."""
    reasons = []
    if not user.active:
        reasons.append("user_deactivated")
    if not user.enabled_user:
        reasons.append("user_disabled")
    if user.app_role not in ALLOWED_APP_ROLES:
        reasons.append("role_not_allowed")
    return reasons


def _district_and_user(
    stores: Stores, tenant_id: str, sourced_id: str
) -> tuple[District | None, RosterUser | None]:
    """Only what the decision needs (a district's item also carries its settings and last run),
    both in one round trip when my/info names a SourcedId."""
    if sourced_id:
        return stores.users.get_with_district(tenant_id, sourced_id, DISTRICT_FIELDS, USER_FIELDS)
    return stores.districts.get(tenant_id, consistent=False, attributes=DISTRICT_FIELDS), None


def claims_disagree(info: MyInfo, id_token_claims: dict[str, Any]) -> Refusal | None:
    """An id_token that names a tenant or a person (classLink_tenant_id, classLink_sourcedId, when
    ClassLink sends them) must agree with my/info: otherwise one of them is not about this
    sign-in, and signing in as the my/info person would be a silent guess."""
    tenant = id_token_claims.get("classLink_tenant_id")
    if tenant is not None and str(tenant) != info.tenant_id:
        return Refusal("tenant_mismatch")
    sourced_id = id_token_claims.get("classLink_sourcedId")
    if sourced_id is not None and str(sourced_id) != (info.sourced_id or ""):
        return Refusal("sourced_id_mismatch")
    return None


def _rostered_user(stores: Stores, info: MyInfo, by_sourced_id: RosterUser | None) -> RosterUser | None:
    """The user found by SourcedId; failing that, or if that record is inactive (ClassLink
    re-issues SourcedIds: a sync deactivates the old record and adds the new one), the one other
    record linked to this ClassLink UserId at an earlier sign-in."""
    if by_sourced_id is not None and by_sourced_id.active:
        return by_sourced_id
    if not info.user_id:
        return by_sourced_id
    others = [
        user
        for user in stores.users.by_classlink_user_id(info.tenant_id, info.user_id)
        if by_sourced_id is None or user.sourced_id != by_sourced_id.sourced_id
    ]
    return others[0] if len(others) == 1 else by_sourced_id


def resolve_person(stores: Stores, info: MyInfo, id_token_claims: dict[str, Any]) -> Person | Refusal:
    disagreement = claims_disagree(info, id_token_claims)
    if disagreement is not None:
        return disagreement
    district, by_sourced_id = _district_and_user(stores, info.tenant_id, info.sourced_id)
    refused = district_refusals(district)
    if refused:  # the district's refusal comes first, whoever the user is
        return Refusal(refused[0])
    user = _rostered_user(stores, info, by_sourced_id)
    if user is None:
        return Refusal("user_not_shared")
    if user.classlink_user_id and user.classlink_user_id != info.user_id:
        # This rostered user signed in before as another ClassLink account.
        return Refusal("identity_conflict")
    refusals = user_refusals(user)
    if refusals:
        return Refusal(refusals[0])
    # The ClassLink UserId is stored at the first sign-in (never over another one), with the time
    # of this one; False if the record is now linked to another ClassLink account.
    if not stores.users.record_sign_in(user, info.user_id, utcnow()):
        return Refusal("identity_conflict")  # another ClassLink account linked it a moment ago
    return Person(
        tenant_id=info.tenant_id,
        sourced_id=user.sourced_id,
        role=user.app_role,
        school_ids=tuple(str(s) for s in user.org_sourced_ids or ()),
        classlink_user_id=info.user_id,
        roster_role=str(user.role or ""),
        sub_differs=str(id_token_claims.get("sub", info.user_id)) != info.user_id,
    )
