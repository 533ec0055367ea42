"""A district administrator deciding their own district's held runs, on the fakes: who gets a
session for the holds page at the callback, which sessions the page accepts (forged, tampered,
expired, another audience's), that one district's administrator never sees or decides another's
runs, that teachers and students are refused, that a forged form or a replayed decision changes
nothing, and that each decision is in the run and the history with who made it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from smartpass.classlink.oidc import MyInfo
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterOrg, RosterUser
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncRun, SyncState
from smartpass.operations.district_holds import (
    AdminSession,
    DecisionRefused,
    NotAllowed,
    decide,
    holds_view,
    read_session,
)
from smartpass.operations.district_link import make_token
from smartpass.settings import Settings
from smartpass.sso import district_admin
from smartpass.sso.callback import SsoConfig, UnknownDestination, finish_login, start_login
from smartpass.sso.identity import Person
from smartpass.sso.session import (
    SESSION_AUDIENCE,
    SessionFor,
    SessionRejected,
    SigningKey,
    SigningKeys,
    sign_session,
)
from smartpass.sync.holds import HoldError, approve_hold
from smartpass.sync.progress import HELD, ProgressParts
from tests.fakes.stores import FakeDistricts, FakeHistory, fake_stores, rostered_user
from tests.unit.test_sso_rules import StubClassLink

A, B = "6101", "6202"
ISSUER = "smartpass-classlink-test"
KEY = SigningKey("k1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
OTHER_KEY = SigningKey("k1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
KEYS = SigningKeys(KEY).public()
CONFIG = SsoConfig("client", "secret", "https://api.example/sso/classlink/callback", "https://app.example")


def _district(stores: Stores, tenant_id: str, name: str) -> None:
    districts = stores.districts
    assert isinstance(districts, FakeDistricts)
    districts.put(
        District(tenant_id=tenant_id, name=name, state=DistrictState.HELD.value, first_synced_at=utcnow())
    )


def _held_run(stores: Stores, tenant_id: str, sourced_id: str = "u1") -> str:
    """A run of the district held with one user to deactivate."""
    run = SyncRun(
        tenant_id=tenant_id, run_id=f"2026-12-04T02:00:00.000000Z#nightly#{tenant_id}", kind="nightly"
    )
    run.trigger, run.state, run.held_deactivations = "t", SyncState.HELD.value, 1
    run.findings = ["60 of 140 active users would be deactivated, over the limit of 50"]
    stores.runs.add(run)
    rostered_user(stores, tenant_id, sourced_id)
    ProgressParts(stores.progress, tenant_id, run.run_id, utcnow()).save(
        HELD, "users", 0, [[sourced_id, "absent", "0a"]]
    )
    return run.run_id


def _two_districts() -> tuple[Stores, str, str]:
    stores = fake_stores()
    _district(stores, A, "Aspen Unified")
    _district(stores, B, "Birch County")
    for tenant in (A, B):
        # The district's own org and one school (OneRoster 1.1 gives both kinds of staff the
        # one `administrator` role: only the district org's decides).
        orgs = stores.orgs.roster.table(RosterOrg, tenant)  # type: ignore[attr-defined]
        orgs[f"{tenant}-district"] = {"name": "The district", "org_type": "district"}
        orgs[f"{tenant}-school"] = {"name": "A school", "org_type": "school"}
        rostered_user(
            stores,
            tenant,
            "admin",
            role="administrator",
            app_role="admin",
            given_name="Dana",
            family_name="Reyes",
            org_sourced_ids=[f"{tenant}-district"],
        )
        rostered_user(
            stores,
            tenant,
            "school-admin",
            role="administrator",
            app_role="admin",
            org_sourced_ids=[f"{tenant}-school"],
        )
        rostered_user(stores, tenant, "teacher", role="teacher", app_role="teacher")
        rostered_user(stores, tenant, "student")
        rostered_user(stores, tenant, "principal", role="principal", app_role="admin")
    return stores, _held_run(stores, A), _held_run(stores, B)


def _session(tenant_id: str, sourced_id: str = "admin") -> AdminSession:
    who = SessionFor(tenant_id, sourced_id, "admin")
    return read_session(sign_session(KEY, ISSUER, district_admin.AUDIENCE, who, utcnow()), KEYS, ISSUER)


def _user(stores: Stores, tenant_id: str, sourced_id: str) -> RosterUser:
    user = stores.users.get(tenant_id, sourced_id)
    assert user is not None
    return user


# ---------------------------------------------------------------- the sign-in
def _signed_in(stores: Stores, tenant_id: str, sourced_id: str) -> Any:
    classlink = StubClassLink(
        MyInfo.model_validate({"UserId": "77", "TenantId": tenant_id, "SourcedId": sourced_id})
    )
    start = start_login(stores, classlink, CONFIG, "/ignored", destination=district_admin.DESTINATION)
    state = parse_qs(urlsplit(start.url).query)["state"][0]
    query = {"code": "classlink-code", "state": state}
    return finish_login(stores, query, {start.cookie_name: start.cookie_value}, classlink, CONFIG)


def test_a_district_administrator_signing_in_for_the_holds_page_gets_there_without_a_login_code() -> None:
    stores, _, _ = _two_districts()
    outcome = _signed_in(stores, A, "admin")
    assert outcome.refusal is None
    assert outcome.location == "https://api.example/district/holds"  # our page, not the app
    assert outcome.district_admin is not None and outcome.district_admin.roster_role == "administrator"
    assert stores.login_codes.items == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("sourced_id", ["teacher", "student", "principal"])
def test_teachers_students_and_school_administrators_are_refused_at_the_callback(sourced_id: str) -> None:
    stores, _, _ = _two_districts()
    outcome = _signed_in(stores, A, sourced_id)
    assert (outcome.refusal, outcome.location, outcome.district_admin) == (
        "not_district_administrator",
        None,
        None,
    )


def test_a_launch_to_an_unknown_destination_is_refused() -> None:
    with pytest.raises(UnknownDestination):
        start_login(
            fake_stores(),
            StubClassLink(MyInfo.model_validate({"UserId": "1", "TenantId": A})),
            CONFIG,
            "/",
            destination="ops",
        )


# ---------------------------------------------------------------- the session
def test_only_a_holds_session_signed_with_our_key_opens_the_page() -> None:
    who = SessionFor(A, "admin", "admin")
    now = utcnow()
    good = sign_session(KEY, ISSUER, district_admin.AUDIENCE, who, now)
    assert read_session(good, KEYS, ISSUER).tenant_id == A
    forged = sign_session(OTHER_KEY, ISSUER, district_admin.AUDIENCE, who, now)  # same kid, other key
    app_session = sign_session(KEY, ISSUER, SESSION_AUDIENCE, who, now)  # the app's session
    expired = sign_session(KEY, ISSUER, district_admin.AUDIENCE, who, now - timedelta(minutes=16))
    link = make_token(A, KEY, Settings.model_construct(stage="test"))  # a district status link
    header, _, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    tampered_payload = jwt.utils.base64url_encode(
        jwt.api_jws.json.dumps({**claims, "tenant_id": B}).encode()
    ).decode()
    tampered = f"{header}.{tampered_payload}.{signature}"
    unsigned = jwt.encode({**claims}, key=None, algorithm="none")
    for token in (forged, app_session, link, tampered, unsigned, "", "x" * 5000):
        with pytest.raises(SessionRejected) as refused:
            read_session(token, KEYS, ISSUER)
        assert not refused.value.expired
    with pytest.raises(SessionRejected) as stale:
        read_session(expired, KEYS, ISSUER)
    assert stale.value.expired


# ---------------------------------------------------------------- seeing and deciding
def test_an_administrator_sees_only_their_own_districts_held_runs() -> None:
    stores, run_a, _ = _two_districts()
    view = holds_view(stores, _session(A))
    assert [h.run.run_id for h in view.held] == [run_a]
    assert view.admin.district_name == "Aspen Unified"
    assert view.held[0].review is not None and view.held[0].review.total == 1


def test_an_administrator_of_one_district_cannot_decide_another_districts_run() -> None:
    stores, _, run_b = _two_districts()
    session = _session(A)
    for decision in ("approve", "reject"):
        with pytest.raises(DecisionRefused, match="no run"):
            decide(stores, session, run_b, decision, session.session_id)
    stored = stores.runs.get(B, run_b)
    assert stored is not None and stored.state == "held" and stored.decided_by is None
    assert _user(stores, B, "u1").active


@pytest.mark.parametrize(
    ("sourced_id", "fields", "reason"),
    [
        ("teacher", {}, "not_district_administrator"),
        ("student", {}, "not_district_administrator"),
        ("principal", {}, "not_district_administrator"),
        ("admin", {"active": False}, "user_deactivated"),
        ("admin", {"enabled_user": False}, "user_disabled"),
        ("nobody", None, "user_not_shared"),
    ],
)
def test_the_person_is_read_again_at_each_request(
    sourced_id: str, fields: dict[str, Any] | None, reason: str
) -> None:
    stores, run_a, _ = _two_districts()
    if fields:
        rostered_user(stores, A, sourced_id, role="administrator", app_role="admin", **fields)
    session = _session(A, sourced_id)
    with pytest.raises(NotAllowed) as refused:
        holds_view(stores, session)
    assert refused.value.reason == reason
    with pytest.raises(NotAllowed):
        decide(stores, session, run_a, "approve", session.session_id)
    stored = stores.runs.get(A, run_a)
    assert stored is not None and stored.state == "held"


def test_an_approval_is_the_operators_own_named_for_the_administrator_in_run_and_history() -> None:
    stores, run_a, _ = _two_districts()
    session = _session(A)
    made = decide(stores, session, run_a, "approve", session.session_id)
    assert (made.applied, made.no_longer_applicable) == (1, 0)
    assert not _user(stores, A, "u1").active
    who = "Dana Reyes (admin), district administrator via ClassLink"
    run = stores.runs.get(A, run_a)
    assert run is not None and run.state == "approved" and run.decided_by == who
    assert run.findings[-1] == f"approved by {who}"
    history = stores.history
    assert isinstance(history, FakeHistory)
    events = [(e.kind, e.actor) for e in history.newest(A, 10)]
    assert ("hold_approved", "district-admin:admin") in events
    assert ("state_changed", "district-admin:admin") in events  # held -> active, as for an operator
    decided = next(e for e in history.newest(A, 10) if e.kind == "hold_approved")
    assert who in decided.reason and run_a in decided.reason
    assert history.newest(B, 10) == []


def test_a_replayed_or_forged_decision_changes_nothing() -> None:
    stores, run_a, _ = _two_districts()
    session = _session(A)
    with pytest.raises(NotAllowed, match="forged_form"):
        decide(stores, session, run_a, "approve", "not-the-session-id")
    with pytest.raises(NotAllowed, match="forged_form"):
        decide(stores, session, run_a, "approve", _session(A).session_id)  # another session's page
    assert (stores.runs.get(A, run_a) or SyncRun()).state == "held"
    decide(stores, session, run_a, "reject", session.session_id)
    for decision in ("reject", "approve"):  # the same request again, or the other decision
        with pytest.raises(DecisionRefused, match="not held"):
            decide(stores, session, run_a, decision, session.session_id)
    assert _user(stores, A, "u1").active  # rejected: never deactivated


def test_operator_decisions_are_in_the_history_the_same_way() -> None:
    stores, run_a, _ = _two_districts()
    approve_hold(stores, A, run_a, "alice")
    history = stores.history
    assert isinstance(history, FakeHistory)
    assert ("hold_approved", "operator:alice") in [(e.kind, e.actor) for e in history.newest(A, 10)]


def test_only_a_person_of_the_sessions_district_is_named() -> None:
    person = Person(A, "admin", "admin", (), "77", roster_role="administrator")
    token = district_admin.admin_session(person, KEY, ISSUER, utcnow())
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["aud"], claims["sub"], claims["tenant_id"]) == (district_admin.AUDIENCE, f"{A}|admin", A)
    assert claims["exp"] - claims["iat"] == 15 * 60


def test_the_district_status_page_of_a_held_district_points_its_administrators_to_the_holds_page() -> None:
    from smartpass.operations.district_page import DistrictStatus, render_district_page

    def shown(state: str) -> str:
        return render_district_page(DistrictStatus("Aspen Unified", state, None, None, None, False, utcnow()))

    assert 'href="/district/holds"' in shown("held")
    assert "/district/holds" not in shown("active")


def test_a_big_approval_stops_in_time_and_the_same_decider_continues_it() -> None:
    """A web request has 29 s: an approval bounded in time applies what fits, keeps how far it got
    on the run, and the next call (the page's Continue) applies the rest, counted once."""
    stores, _, _ = _two_districts()
    run = SyncRun(tenant_id=A, run_id="2026-12-05T02:00:00.000000Z#nightly#big", kind="nightly", trigger="t")
    run.state, run.held_deactivations = SyncState.HELD.value, 250
    stores.runs.add(run)
    for n in range(250):
        rostered_user(stores, A, f"s{n:03d}")
    held = [[f"s{n:03d}", "absent", "0a"] for n in range(250)]
    ProgressParts(stores.progress, A, run.run_id, utcnow()).save(HELD, "users", 0, held)
    rostered_user(stores, A, "s007", given_name="Changed", content_hash="ff")  # changed since the hold
    session = _session(A)
    clock = iter([30.0, 1.0])  # the first chunk fits, then time runs short
    first = decide(stores, session, run.run_id, "approve", session.session_id, time_left=lambda: next(clock))
    assert (first.applied, first.no_longer_applicable, first.remaining) == (199, 1, 50)
    stored = stores.runs.get(A, run.run_id)
    assert stored is not None and stored.state == "held" and stored.checkpoint is not None
    with pytest.raises(HoldError, match="being decided by Dana Reyes"):
        approve_hold(stores, A, run.run_id, "alice")  # an operator cannot take over half-way
    with pytest.raises(DecisionRefused, match="being approved"):  # nor is half of it undone
        decide(stores, session, run.run_id, "reject", session.session_id)
    second = decide(stores, session, run.run_id, "approve", session.session_id, time_left=lambda: 30.0)
    assert (second.applied, second.no_longer_applicable, second.remaining) == (249, 1, 0)
    stored = stores.runs.get(A, run.run_id)
    assert stored is not None and stored.state == "approved" and stored.checkpoint is None
    assert stored.counts.as_dict()["users"]["deactivated"] == 249
    assert sum(1 for n in range(250) if _user(stores, A, f"s{n:03d}").active) == 1


def test_a_schools_administrator_with_the_one_oneroster_1_1_role_is_refused_on_the_holds_page() -> None:
    # OneRoster 1.1's `administrator` is a principal's role too: without the district's own org
    # among theirs, they decide nothing, though their session was issued.
    stores, _, _ = _two_districts()
    with pytest.raises(NotAllowed, match="not_district_administrator"):
        holds_view(stores, _session(A, "school-admin"))
    assert holds_view(stores, _session(A, "admin")).admin.sourced_id == "admin"
