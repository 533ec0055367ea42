"""A district administrator signing in through ClassLink to decide their own district's held
sync runs (the district holds page, operations/district_holds.py).

The sign-in is the ordinary OneClick sign-in (launch, ClassLink, callback, the rostered person),
started with the destination `district_holds`. It ends not in the app but on our holds page,
with a session of its own: the same session JWT the app gets, signed with the same key, for an
audience of its own (`smartpass-district-holds`), so an app session can never decide a hold and
this session can never pass for an app session. It lives in an HttpOnly cookie scoped to the
holds page, for the session's 15 minutes: a decision needs a sign-in that recent.

Who is a district administrator: the rostered user's OneRoster role, never my/info's `Role`
(one tenant reported every staff member as "Teacher", classlink-facts A5). OneRoster 1.2 names
`districtAdministrator` and `systemAdministrator` at district level. OneRoster 1.1, which we read,
has one `administrator` role for a school's principal and the district's staff alike: such a user
decides only if one of their orgs is the district itself (org type `district`), never through a
school alone. School-level roles (`principal`, `siteAdministrator`) are not the district's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from smartpass.data.roster import RosterUser
from smartpass.sso.identity import Person, user_refusals
from smartpass.sso.session import SessionFor, SigningKey, sign_session

DESTINATION = "district_holds"  # LoginState.destination of such a sign-in
PATH = "/district/holds"
AUDIENCE = "smartpass-district-holds"
COOKIE = "sp_district_admin"
DISTRICT_ADMIN_ROLES = frozenset({"administrator", "districtadministrator", "systemadministrator"})
DISTRICT_LEVEL_ROLES = frozenset({"districtadministrator", "systemadministrator"})


def is_district_administrator(roster_role: object) -> bool:
    return isinstance(roster_role, str) and roster_role.strip().lower() in DISTRICT_ADMIN_ROLES


def admin_refusals(user: RosterUser | None, org_types: Mapping[str, str]) -> list[str]:
    """Why this rostered user cannot decide their district's holds now (empty: they may).
    `org_types`: the OneRoster type of each of the user's orgs that the roster holds."""
    if user is None:
        return ["user_not_shared"]
    refusals = user_refusals(user)
    role = (user.role or "").strip().lower()
    district_level = role in DISTRICT_LEVEL_ROLES or (
        role == "administrator" and "district" in {t.strip().lower() for t in org_types.values()}
    )
    if not is_district_administrator(user.role) or not district_level:
        refusals.append("not_district_administrator")
    return refusals


def holds_url(redirect_uri: str) -> str:
    """The holds page on our own API: the origin of the redirect URI registered with ClassLink
    (a deployment setting, never a request header)."""
    parts = urlsplit(redirect_uri)
    return f"{parts.scheme}://{parts.netloc}{PATH}"


def admin_session(person: Person, key: SigningKey, issuer: str, now: datetime) -> str:
    return sign_session(
        key,
        issuer,
        AUDIENCE,
        SessionFor(person.tenant_id, person.sourced_id, person.role, person.school_ids),
        now,
    )
