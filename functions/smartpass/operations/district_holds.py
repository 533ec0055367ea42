"""A district administrator's own held sync runs: see them, approve or reject one.

Who may: the session in the page's cookie (sso/district_admin.py: signed in through ClassLink,
for this page's audience, at most 15 minutes old) names a tenant and a person; at every request
the rostered person is read again and must still be an active, enabled district administrator
of that tenant. The district is the session's, never the request's: a run id of another district
is simply not found among this district's runs.

A decision also carries the session's own id (its `jti`) as a form field, which only a page we
served to that session holds (the cookie is HttpOnly, and SameSite=Lax keeps it off another
site's POST): a forged form from elsewhere is refused before anything is read. A decision sent
again (a replay) finds the run decided already and is refused by the hold's own rule (one
decision per hold). Each decision is the operators' own (sync/holds.py), named "<name>
(<sourcedId>), district administrator via ClassLink" in the run and in the district's history.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from smartpass.data.stores import Stores
from smartpass.operations.held_runs import HeldRun, list_held_runs
from smartpass.sso.district_admin import AUDIENCE, admin_refusals
from smartpass.sso.session import PublicKeys, SessionRejected, verify_session
from smartpass.sync.holds import Decider, HoldError, HoldReview, approve_hold, reject_hold, review_hold

DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class AdminSession:
    tenant_id: str
    sourced_id: str
    session_id: str  # the JWT's jti: the form token of this session's pages
    expires_at: datetime


class NotAllowed(Exception):
    """This request may not see or decide anything; `reason` is a refusal code of sso/pages.py or
    one of this page's own (`forged_form`, `unknown_decision`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecisionRefused(Exception):
    """The hold cannot be decided (decided already, stale, being decided, gone): the message says why."""


@dataclass(frozen=True)
class SignedInAdmin:
    tenant_id: str
    sourced_id: str
    name: str
    district_name: str
    session: AdminSession

    @property
    def decider(self) -> Decider:
        return Decider.district_administrator(self.sourced_id, self.name)


@dataclass(frozen=True)
class HeldRunView:
    run: HeldRun
    review: HoldReview | None  # None: it could not be read (decided meanwhile)


@dataclass(frozen=True)
class HoldsView:
    admin: SignedInAdmin
    held: list[HeldRunView] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionMade:
    admin: SignedInAdmin
    run_id: str
    decision: str  # approve | reject
    applied: int = 0
    no_longer_applicable: int = 0
    remaining: int = 0  # an approval that ran out of the request's time: continued by the next


def read_session(token: str, keys: PublicKeys, issuer: str) -> AdminSession:
    """The session a district holds cookie carries, or SessionRejected (forged, tampered,
    expired, or a session for the app)."""
    claims = verify_session(token, keys, issuer, AUDIENCE)
    return AdminSession(
        tenant_id=claims["tenant_id"],
        sourced_id=claims["sourced_id"],
        session_id=claims["jti"],
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def signed_in_admin(stores: Stores, session: AdminSession) -> SignedInAdmin:
    """The session's person, read again: still an active, enabled district administrator of a
    district we serve. NotAllowed otherwise."""
    district = stores.districts.get(session.tenant_id, consistent=False)
    if district is None:
        raise NotAllowed("district_not_connected")
    user = stores.users.get(session.tenant_id, session.sourced_id)
    orgs = [str(org) for org in user.org_sourced_ids or []] if user else []
    org_types = stores.orgs.types(session.tenant_id, orgs)
    refusals = admin_refusals(user, org_types)
    if refusals or user is None:
        raise NotAllowed(refusals[0] if refusals else "user_not_shared")
    name = " ".join(part for part in (user.given_name, user.family_name) if part).strip()
    return SignedInAdmin(session.tenant_id, session.sourced_id, name, district.name, session)


def holds_view(stores: Stores, session: AdminSession) -> HoldsView:
    """The district's held runs waiting for a decision, newest first, each with what it would
    deactivate (counts by collection and reason, no record names)."""
    admin = signed_in_admin(stores, session)
    held = []
    for run in list_held_runs(stores, admin.tenant_id):
        try:
            review: HoldReview | None = review_hold(stores, admin.tenant_id, run.run_id, sample_size=0)
        except HoldError:
            review = None
        held.append(HeldRunView(run, review))
    return HoldsView(admin, held)


def decide(
    stores: Stores,
    session: AdminSession,
    run_id: str,
    decision: str,
    form_token: str,
    time_left: Callable[[], float] | None = None,
) -> DecisionMade:
    """Approve or reject one held run of the session's district, as its administrator. An
    approval stops in `time_left` and is continued by approving again (sync/holds.py)."""
    if not form_token or not hmac.compare_digest(form_token.encode(), session.session_id.encode()):
        raise NotAllowed("forged_form")
    if decision not in DECISIONS or not run_id or len(run_id) > 200:
        raise NotAllowed("unknown_decision")
    admin = signed_in_admin(stores, session)
    try:
        if decision == "approve":
            result = approve_hold(stores, admin.tenant_id, run_id, admin.decider, time_left)
            applied, unchanged, remaining = (
                result[k] for k in ("applied", "no_longer_applicable", "remaining")
            )
            return DecisionMade(admin, run_id, decision, applied, unchanged, remaining)
        reject_hold(stores, admin.tenant_id, run_id, admin.decider)
    except HoldError as exc:
        raise DecisionRefused(str(exc)) from None
    return DecisionMade(admin, run_id, decision)


__all__ = [
    "AdminSession",
    "DecisionMade",
    "DecisionRefused",
    "HoldsView",
    "NotAllowed",
    "SessionRejected",
    "decide",
    "holds_view",
    "read_session",
    "signed_in_admin",
]
