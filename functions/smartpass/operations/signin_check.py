"""Can this person sign in now? If not, why, and what to change.

The verdict comes from the very rules a ClassLink sign-in applies (smartpass.sso.identity:
`district_refusals`, `user_refusals`), so the check and the callback cannot disagree. What a
sign-in alone can know (a forged or replayed login, ClassLink answering differently about the
tenant) is not the person's standing and is not checked here; a ClassLink account linked at an
earlier sign-in is shown, because signing in with another account is refused.

The person is named by sourcedId (a key read), or by e-mail, username, ClassLink UserId or
name, case-insensitive: those read the district's users with one Query on the tenant (the key
design has no index on them; an operator's occasional read of one district is acceptable) and
match here. Several matches are returned as candidates for the operator to pick a sourcedId.

Shows a person's name and e-mail: only to the operator who asked about that person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from smartpass.data.districts import District
from smartpass.data.roster import RosterUser
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncState
from smartpass.sso.identity import ALLOWED_APP_ROLES, district_refusals, user_refusals
from smartpass.sso.pages import REFUSALS

# Runs that pulled the district's whole roster and applied it: a user still active after one
# was in its pull. (A held or rejected run deactivated nothing, so it proves nothing about
# who was absent; it did see the records it wrote.)
APPLIED_WHOLE_ROSTER = frozenset({SyncState.SUCCEEDED.value, SyncState.APPROVED.value})
RUNS_LOOKED_AT = 200  # newest runs read to find the last that saw a person
RUN_FIELDS = ["run_id", "kind", "state", "started_at", "finished_at"]
# What a search reads of each user of the district: enough to match and to list candidates.
MATCH_FIELDS = [
    "tenant_id",
    "sourced_id",
    "email",
    "username",
    "given_name",
    "family_name",
    "classlink_user_id",
    "app_role",
    "active",
]
CANDIDATES_SHOWN = 20


@dataclass(frozen=True)
class Reason:
    code: str  # the sign-in's refusal code (smartpass.sso.pages.REFUSALS)
    title: str  # what the person sees as the refusal page's title
    problem: str  # what is wrong, with this person's or district's facts
    fix: str  # what to change, and who does it


@dataclass(frozen=True)
class RunSeen:
    run_id: str
    kind: str
    state: str
    at: datetime | None  # when it finished (or started, if it has not)


@dataclass(frozen=True)
class DistrictFacts:
    tenant_id: str
    name: str
    state: str
    state_reason: str | None
    paused_by: str | None
    sharing_enabled: bool
    first_synced_at: datetime | None
    last_run: RunSeen | None


@dataclass(frozen=True)
class School:
    sourced_id: str
    name: str | None  # None when the org is not (or no longer) in our roster


@dataclass(frozen=True)
class PersonFacts:
    sourced_id: str
    name: str
    email: str | None
    username: str | None
    role: str  # OneRoster role
    app_role: str  # SmartPass role, from the district's role mapping
    active: bool
    enabled_user: bool
    schools: tuple[School, ...]
    first_seen_at: datetime | None
    last_written_at: datetime | None
    last_written_by: str | None  # the run that last created, changed or (de)activated the record
    last_seen_by: RunSeen | None  # the last run whose pull included the person
    deactivated_at: datetime | None
    deactivation_reason: str | None  # "absent" or "tobedeleted"
    classlink_user_id: str | None  # linked at the first sign-in
    last_login_at: datetime | None


@dataclass(frozen=True)
class Candidate:
    sourced_id: str
    name: str
    email: str | None
    username: str | None
    app_role: str
    active: bool


@dataclass(frozen=True)
class SignInCheck:
    tenant_id: str
    who: str
    can_sign_in: bool
    reasons: tuple[Reason, ...]
    district: DistrictFacts | None
    person: PersonFacts | None
    matched_by: str | None  # sourcedId, e-mail, username, ClassLink UserId, name
    # Set (and nothing decided) when `who` matches several people: ask for a sourcedId.
    candidates: tuple[Candidate, ...] = ()
    more_candidates: int = 0

    @property
    def ambiguous(self) -> bool:
        return bool(self.candidates)


def check_sign_in(stores: Stores, tenant_id: str, who: str) -> SignInCheck:
    who = who.strip()
    district = stores.districts.get(tenant_id, consistent=False)
    district_facts = _district_facts(district) if district is not None else None
    reasons = [_district_reason(code, tenant_id, district) for code in district_refusals(district)]
    if district is None:  # no roster to look in
        return SignInCheck(tenant_id, who, False, tuple(reasons), None, None, None)
    found, matched_by = find_people(stores, tenant_id, who)
    if len(found) > 1:
        return SignInCheck(
            tenant_id,
            who,
            False,
            tuple(reasons),
            district_facts,
            None,
            matched_by,
            candidates=tuple(_candidate(u) for u in found[:CANDIDATES_SHOWN]),
            more_candidates=max(0, len(found) - CANDIDATES_SHOWN),
        )
    if not found:
        reasons.append(_not_rostered(who))
        return SignInCheck(tenant_id, who, False, tuple(reasons), district_facts, None, None)
    user = stores.users.get(tenant_id, found[0].sourced_id)  # the whole record
    if user is None:  # a sync never deletes a record, but an operator's table edit might
        reasons.append(_not_rostered(who))
        return SignInCheck(tenant_id, who, False, tuple(reasons), district_facts, None, None)
    reasons += [_user_reason(code, user) for code in user_refusals(user)]
    return SignInCheck(
        tenant_id, who, not reasons, tuple(reasons), district_facts, _person_facts(stores, user), matched_by
    )


def find_people(stores: Stores, tenant_id: str, who: str) -> tuple[list[RosterUser], str | None]:
    """The district's users `who` names (only MATCH_FIELDS read, unless found by key) and what
    matched: a sourcedId first (a key read), then the strongest kind of match that finds anyone."""
    if not who:
        return [], None
    by_key = stores.users.get(tenant_id, who)
    if by_key is not None:
        return [by_key], "sourcedId"
    wanted = _folded(who)
    tiers: dict[str, list[RosterUser]] = {
        "sourcedId": [],
        "e-mail": [],
        "username": [],
        "ClassLink UserId": [],
    }
    full_name: list[RosterUser] = []
    part_of_name: list[RosterUser] = []
    for user in stores.roster_reader.records(RosterUser, tenant_id, MATCH_FIELDS):
        given, family = _folded(user.given_name or ""), _folded(user.family_name or "")
        if _folded(user.sourced_id) == wanted:
            tiers["sourcedId"].append(user)
        if user.email and _folded(user.email) == wanted:
            tiers["e-mail"].append(user)
        if user.username and _folded(user.username) == wanted:
            tiers["username"].append(user)
        if user.classlink_user_id and user.classlink_user_id == who:
            tiers["ClassLink UserId"].append(user)
        if wanted in {f"{given} {family}", f"{family} {given}", f"{family}, {given}"}:
            full_name.append(user)
        elif wanted in {given, family}:
            part_of_name.append(user)
    # A name is weaker evidence than an identifier, and a whole name than a part of one.
    for matched_by, users in [*tiers.items(), ("name", full_name), ("part of a name", part_of_name)]:
        if users:
            return users, matched_by  # in sourcedId order, as the Query returns them
    return [], None


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


# ------------------------------------------------------------------ facts
def _district_facts(district: District) -> DistrictFacts:
    last = district.last_run
    return DistrictFacts(
        tenant_id=district.tenant_id,
        name=district.name,
        state=district.state,
        state_reason=district.state_reason,
        paused_by=district.paused_by,
        sharing_enabled=bool(district.sharing_enabled),
        first_synced_at=district.first_synced_at,
        last_run=RunSeen(last.run_id, last.kind, last.state, last.finished_at) if last else None,
    )


def _person_facts(stores: Stores, user: RosterUser) -> PersonFacts:
    return PersonFacts(
        sourced_id=user.sourced_id,
        name=_name(user),
        email=user.email,
        username=user.username,
        role=user.role,
        app_role=user.app_role,
        active=bool(user.active),
        enabled_user=bool(user.enabled_user),
        schools=_schools(stores, user.tenant_id, [str(i) for i in user.org_sourced_ids or ()]),
        first_seen_at=user.first_seen_at,
        last_written_at=user.last_written_at,
        last_written_by=user.last_run_id,
        last_seen_by=last_seen_by(stores, user),
        deactivated_at=user.deactivated_at,
        deactivation_reason=user.deactivation_reason,
        classlink_user_id=user.classlink_user_id,
        last_login_at=user.last_login_at,
    )


def _name(user: RosterUser) -> str:
    return " ".join(p for p in (user.given_name, user.family_name) if p)


def _candidate(user: RosterUser) -> Candidate:
    return Candidate(
        user.sourced_id, _name(user), user.email, user.username, user.app_role, bool(user.active)
    )


def _schools(stores: Stores, tenant_id: str, org_ids: list[str]) -> tuple[School, ...]:
    names = stores.orgs.names(tenant_id, org_ids)
    return tuple(School(i, names.get(i)) for i in org_ids)


def last_seen_by(stores: Stores, user: RosterUser) -> RunSeen | None:
    """The newest run whose pull included this person. A sync writes a record only when it
    changes, so the record names the run that last wrote it; any later run that applied the
    whole roster and left the record active saw it too. None for an inactive record (the run
    that deactivated it did not see it)."""
    if not user.active:
        return None
    for run in stores.runs.newest(user.tenant_id, RUNS_LOOKED_AT, consistent=False, attributes=RUN_FIELDS):
        if user.last_run_id and run.run_id < user.last_run_id:
            break
        if run.state in APPLIED_WHOLE_ROSTER or run.run_id == user.last_run_id:
            return RunSeen(run.run_id, run.kind, run.state, run.finished_at or run.started_at)
    return None


# ------------------------------------------------------------------ reasons, in admin words
ADMIN = "The district's ClassLink administrator"


def _reason(code: str, problem: str, fix: str) -> Reason:
    return Reason(code=code, title=REFUSALS[code].title, problem=problem, fix=fix)


def _district_reason(code: str, tenant_id: str, district: District | None) -> Reason:
    if code == "district_not_connected":
        return _reason(
            code,
            f"SmartPass has no district with ClassLink tenant id {tenant_id}.",
            f"{ADMIN} adds the SmartPass Roster Server app in ClassLink and shares students and "
            "teachers with it; SmartPass connects within minutes. A district that sent an OAuth1 "
            f"key instead: `smartpass-ops districts register {tenant_id} ...`.",
        )
    assert district is not None
    if code == "district_paused":
        if district.paused_by and district.paused_by.startswith("operator:"):
            return _reason(
                code,
                f"An operator ({district.paused_by.removeprefix('operator:')}) paused the district: "
                f"{district.state_reason or 'no reason given'}.",
                f"When the reason is dealt with: `smartpass-ops districts resume {tenant_id}`.",
            )
        why = district.state_reason or (
            "the district disabled the SmartPass app" if not district.sharing_enabled else "paused"
        )
        return _reason(
            code,
            f"The district is paused: {why}.",
            f"{ADMIN} enables the SmartPass app in ClassLink Roster Server again (and keeps it "
            "listed); the next poll resumes the district and syncs it.",
        )
    # district_not_synced
    last = district.last_run
    run = f" Its last run {last.run_id} ended {last.state}: {last.message or 'no message'}." if last else ""
    return _reason(
        code,
        f"The district's first sync has not finished (state: {district.state}).{run}",
        "Wait for the initial sync to finish; follow it with "
        f"`smartpass-ops districts show {tenant_id}`. If it failed or is held, that command says why.",
    )


def _user_reason(code: str, user: RosterUser) -> Reason:
    tenant_id = user.tenant_id
    if code == "user_deactivated":
        why = {
            "absent": "ClassLink no longer shared the person",
            "tobedeleted": "ClassLink marked the person to be deleted",
        }.get(user.deactivation_reason or "", "the roster no longer lists the person as active")
        when = f" on {user.deactivated_at:%Y-%m-%d %H:%M} UTC" if user.deactivated_at else ""
        return _reason(
            code,
            f"Deactivated by sync run {user.last_run_id or '(unknown)'}{when}: {why}.",
            f"If the person should have access, {ADMIN.lower()} checks them in the SIS and the "
            "SmartPass app's sharing rules in Roster Server. The next nightly sync reactivates "
            f"them once ClassLink shares them again (or now: `smartpass-ops sync start {tenant_id}`).",
        )
    if code == "user_disabled":
        return _reason(
            code,
            "ClassLink marks the account as disabled (OneRoster enabledUser is false).",
            f"{ADMIN} enables the account in the SIS or ClassLink; the next sync stores it "
            f"(or now: `smartpass-ops sync start {tenant_id}`).",
        )
    # role_not_allowed
    allowed = ", ".join(sorted(ALLOWED_APP_ROLES))
    return _reason(
        code,
        f"The district's role mapping gives OneRoster role {user.role!r} the SmartPass role "
        f"{user.app_role!r}; sign-in allows {allowed}.",
        f"Map the role to one of those: `smartpass-ops districts settings {tenant_id} --role-map "
        f"{user.role}=<role>`, then sync (`smartpass-ops sync start {tenant_id}`).",
    )


def _not_rostered(who: str) -> Reason:
    # The title speaks to the operator: a typo is as likely as a sharing rule.
    return Reason(
        code="user_not_shared",
        title=f"No one in this district's roster matches {who!r}",
        problem="Check the spelling, or look the person up by sourcedId or e-mail. If the person "
        "exists in ClassLink, ClassLink does not share them with SmartPass (the sign-in shows them "
        f"the page {REFUSALS['user_not_shared'].title!r}).",
        fix=f"{ADMIN} checks the SmartPass app's sharing rules in Roster Server (is the person's "
        "school or group shared?), and turns on Unenrolled Users for people with no class (many "
        "teachers without sections, office staff). Guardians are never synced, nor roles the "
        "district's role mapping leaves out. The next nightly sync adds the person.",
    )
