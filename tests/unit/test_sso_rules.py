"""The sign-in's rules on in-memory repositories (tests/fakes): who a ClassLink identity is (by
SourcedId, then the ClassLink UserId stored at an earlier sign-in; never by e-mail), who is
refused and why, and the login state, which finishes one sign-in, in the browser that started it,
before it expires (the login code: test_login_code_rules.py). ClassLink is a stub here; the
integration tier runs the same paths through the sandbox and moto server (test_sso.py,
test_sso_security.py, test_sso_round_trips.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from smartpass.classlink.oidc import Discovery, MyInfo, OidcClient, Tokens
from smartpass.data.base import utcnow
from smartpass.data.districts import District
from smartpass.data.roster import RosterUser
from smartpass.data.stores import Stores
from smartpass.sso import launch
from smartpass.sso.callback import BOUNCE_COOKIE, SsoConfig, finish_login, start_login
from smartpass.sso.identity import Person, Refusal, resolve_person
from smartpass.sso.launch import StateTaken
from tests.fakes.stores import FakeDistricts, FakeLoginStates, FakeUsers, fake_stores, rostered_user

TENANT = "5150"
USER_ID = "900001"  # the ClassLink UserId my/info names
CONFIG = SsoConfig("client", "secret", "https://api.example/sso/classlink/callback", "https://app.example")


def _stores(district: bool = True, **fields: Any) -> Stores:
    stores = fake_stores()
    if district:
        districts = stores.districts
        assert isinstance(districts, FakeDistricts)
        synced: dict[str, Any] = {"state": "active", "first_synced_at": utcnow()}
        districts.put(District(tenant_id=TENANT, name="Juniper", **{**synced, **fields}))
    return stores


def _users(stores: Stores) -> FakeUsers:
    assert isinstance(stores.users, FakeUsers)
    return stores.users


def _user(stores: Stores, sourced_id: str, **fields: Any) -> None:
    rostered_user(stores, TENANT, sourced_id, **{"org_sourced_ids": ["school-1"], **fields})


def _stored(stores: Stores, sourced_id: str) -> RosterUser:
    user = _users(stores).get(TENANT, sourced_id)
    assert user is not None
    return user


def _info(sourced_id: str = "s-1", user_id: str = USER_ID, **extra: Any) -> MyInfo:
    return MyInfo.model_validate({"UserId": user_id, "TenantId": TENANT, "SourcedId": sourced_id, **extra})


# ------------------------------------------------------------------ identity
def test_a_rostered_user_is_found_by_sourced_id_and_linked_at_the_first_sign_in() -> None:
    stores = _stores()
    _user(stores, "s-1", app_role="teacher", org_sourced_ids=["school-1", "school-2"])
    person = resolve_person(stores, _info("s-1"), {"sub": USER_ID})
    # The district and the user in one round trip, then the one conditional write.
    assert _users(stores).requests == ["BatchGetItem", "UpdateItem"]
    # The OneRoster role comes with it (the district holds page admits district administrators).
    assert person == Person(
        TENANT, "s-1", "teacher", ("school-1", "school-2"), USER_ID, roster_role="student"
    )
    stored = _stored(stores, "s-1")
    assert stored.classlink_user_id == USER_ID and stored.last_login_at is not None


def test_a_user_signs_in_again_as_the_same_classlink_account() -> None:
    stores = _stores()
    _user(stores, "s-1", classlink_user_id=USER_ID)
    assert isinstance(resolve_person(stores, _info("s-1"), {}), Person)


def test_without_a_sourced_id_the_user_is_found_by_the_classlink_user_id_stored_earlier() -> None:
    stores = _stores()
    _user(stores, "s-1", classlink_user_id=USER_ID)
    _user(stores, "s-2", classlink_user_id="another-account")
    person = resolve_person(stores, _info(""), {})  # a district without OneRoster SourcedIds
    assert isinstance(person, Person) and person.sourced_id == "s-1"


def test_an_unknown_sourced_id_falls_back_to_the_stored_classlink_user_id() -> None:
    stores = _stores()
    _user(stores, "s-1", classlink_user_id=USER_ID)
    person = resolve_person(stores, _info("renamed-in-the-sis"), {})
    assert isinstance(person, Person) and person.sourced_id == "s-1"


def test_a_classlink_user_id_stored_on_two_records_finds_nobody() -> None:
    stores = _stores()
    _user(stores, "s-1", classlink_user_id=USER_ID)
    _user(stores, "s-2", classlink_user_id=USER_ID)
    assert resolve_person(stores, _info("unknown"), {}) == Refusal("user_not_shared")


def test_a_person_is_never_matched_by_e_mail() -> None:
    stores = _stores()
    _user(stores, "s-1", email="ada.quill@juniper.example")
    info = _info("unknown", Email="ada.quill@juniper.example")
    assert resolve_person(stores, info, {}) == Refusal("user_not_shared")
    assert _stored(stores, "s-1").classlink_user_id is None  # nothing linked either


def test_a_record_linked_to_another_classlink_account_is_refused_and_kept() -> None:
    stores = _stores()
    _user(stores, "s-1", classlink_user_id="another-account")
    assert resolve_person(stores, _info("s-1"), {}) == Refusal("identity_conflict")
    assert _users(stores).requests == ["BatchGetItem"]  # refused from the read, no write tried
    assert _stored(stores, "s-1").classlink_user_id == "another-account"


def test_a_record_linked_by_another_account_between_the_read_and_the_write_is_refused() -> None:
    stores = _stores()
    _user(stores, "s-1")
    users = _users(stores)
    read = users.get_with_district

    def read_then_linked_elsewhere(*args: Any) -> Any:
        found = read(*args)
        users.roster.table(RosterUser, TENANT)["s-1"]["classlink_user_id"] = "another-account"
        return found

    users.get_with_district = read_then_linked_elsewhere  # type: ignore[method-assign]
    assert resolve_person(stores, _info("s-1"), {}) == Refusal("identity_conflict")
    assert _stored(stores, "s-1").classlink_user_id == "another-account"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"active": False, "deactivation_reason": "absent"}, "user_deactivated"),
        ({"enabled_user": False}, "user_disabled"),
        ({"app_role": ""}, "role_not_allowed"),  # the district's role mapping leaves the role out
        ({"app_role": "guardian"}, "role_not_allowed"),
    ],
)
def test_a_user_who_may_not_sign_in_is_refused_and_not_linked(fields: dict[str, Any], reason: str) -> None:
    stores = _stores()
    _user(stores, "s-1", **fields)
    assert resolve_person(stores, _info("s-1"), {}) == Refusal(reason)
    stored = _stored(stores, "s-1")
    assert stored.classlink_user_id is None and stored.last_login_at is None


def test_a_user_not_in_the_roster_is_refused() -> None:
    stores = _stores()
    assert resolve_person(stores, _info("s-404"), {}) == Refusal("user_not_shared")


@pytest.mark.parametrize(
    ("district", "fields", "reason"),
    [
        (False, {}, "district_not_connected"),
        (True, {"state": "paused"}, "district_paused"),
        (True, {"sharing_enabled": False}, "district_paused"),
        (True, {"first_synced_at": None, "state": "syncing"}, "district_not_synced"),
    ],
)
def test_the_districts_refusal_comes_first_whoever_the_user_is(
    district: bool, fields: dict[str, Any], reason: str
) -> None:
    stores = _stores(district, **fields)
    _user(stores, "s-1")
    _user(stores, "s-gone", active=False)
    assert resolve_person(stores, _info("s-1"), {}) == Refusal(reason)
    assert resolve_person(stores, _info("s-gone"), {}) == Refusal(reason)
    assert _stored(stores, "s-1").classlink_user_id is None


def test_an_id_token_naming_another_tenant_is_refused_before_anything_is_read() -> None:
    stores = _stores()
    _user(stores, "s-1")
    assert resolve_person(stores, _info("s-1"), {"classLink_tenant_id": 1}) == Refusal("tenant_mismatch")
    assert _users(stores).requests == []


# ------------------------------------------------------------------ the login state
class StubClassLink(OidcClient):
    """ClassLink's OIDC answers for one person, recording what the callback sent."""

    def __init__(self, info: MyInfo) -> None:
        self.info = info
        self.nonces: list[str | None] = []
        self.verifiers: list[str | None] = []

    def discovery(self) -> Discovery:
        return Discovery(
            "https://classlink.example",
            "https://classlink.example/oauth2/v2/auth",
            "https://classlink.example/oauth2/token",
            "https://classlink.example/jwks",
        )

    def exchange(
        self, code: str, client_id: str, client_secret: str, redirect_uri: str, code_verifier: str | None
    ) -> Tokens:
        self.verifiers.append(code_verifier)
        return Tokens(access_token="access", id_token="id")

    def verify_id_token(self, id_token: str, audience: str, nonce: str | None) -> dict[str, Any]:
        self.nonces.append(nonce)
        return {"sub": self.info.user_id}

    def my_info(self, access_token: str) -> MyInfo:
        return self.info


def _login_states(stores: Stores) -> FakeLoginStates:
    assert isinstance(stores.login_states, FakeLoginStates)
    return stores.login_states


def _started(stores: Stores, classlink: StubClassLink, return_path: str = "/") -> tuple[str, dict[str, str]]:
    """A login started in a browser: the `state` ClassLink will send back, and that browser's cookie."""
    start = start_login(stores, classlink, CONFIG, return_path)
    state = parse_qs(urlsplit(start.url).query)["state"][0]
    return state, {start.cookie_name: start.cookie_value}


def _callback(
    stores: Stores, classlink: StubClassLink, state: str | None, cookies: dict[str, str]
) -> tuple[str | None, str | None]:
    query = {"code": "classlink-code", **({"state": state} if state is not None else {})}
    outcome = finish_login(stores, query, cookies, classlink, CONFIG)
    return outcome.location, outcome.refusal


def test_a_login_state_finishes_one_sign_in_only() -> None:
    stores, classlink = _stores(), StubClassLink(_info("s-1"))
    _user(stores, "s-1")
    state, cookies = _started(stores, classlink, "/passes?tab=mine")
    stored = _login_states(stores).stored(state)
    assert stored is not None and not stored.consumed
    location, refusal = _callback(stores, classlink, state, cookies)
    assert refusal is None and location is not None
    assert location.startswith("https://app.example/passes?tab=mine&login_code=")
    # The state's own nonce and PKCE verifier went to ClassLink.
    assert classlink.nonces == [stored.nonce] and classlink.verifiers == [stored.code_verifier]
    assert _callback(stores, classlink, state, cookies) == (None, "unknown_state")
    assert len(classlink.nonces) == 1  # the replay never reached ClassLink


def test_an_expired_login_state_is_refused() -> None:
    stores, classlink = _stores(), StubClassLink(_info("s-1"))
    _user(stores, "s-1")
    state, cookies = _started(stores, classlink)
    states = _login_states(stores)
    stored = states.stored(state)
    assert stored is not None
    stored.expires_at = utcnow() - timedelta(seconds=1)  # DynamoDB's TTL has not removed it yet
    states.items[state] = stored.serialize()
    assert _callback(stores, classlink, state, cookies) == (None, "unknown_state")
    assert classlink.nonces == []


def test_an_unknown_login_state_is_refused_and_nothing_is_stored() -> None:
    stores, classlink = _stores(), StubClassLink(_info("s-1"))
    assert _callback(stores, classlink, "made-up", {}) == (None, "unknown_state")
    assert _login_states(stores).items == {} and classlink.nonces == []


def test_a_login_state_is_refused_in_another_browser() -> None:
    stores, classlink = _stores(), StubClassLink(_info("s-1"))
    _user(stores, "s-1")
    state, cookies = _started(stores, classlink)
    other_browser = dict.fromkeys(cookies, "its-own-value")
    assert _callback(stores, classlink, state, other_browser) == (None, "unknown_state")
    assert _callback(stores, classlink, state, {}) == (None, "unknown_state")
    assert classlink.nonces == []


def test_the_tiles_code_starts_a_fresh_login_once_then_stops() -> None:
    stores, classlink = _stores(), StubClassLink(_info("s-1"))
    outcome = finish_login(stores, {"code": "tile-code"}, {}, classlink, CONFIG)
    assert outcome.location is not None and outcome.location.startswith(
        classlink.discovery().authorization_endpoint
    )
    assert outcome.cookie is not None and len(_login_states(stores).items) == 1
    assert classlink.verifiers == []  # the tile's code is never exchanged
    bounced = finish_login(stores, {"code": "tile-code"}, {BOUNCE_COOKIE: "1"}, classlink, CONFIG)
    assert bounced.refusal == "unknown_state" and len(_login_states(stores).items) == 1


def test_a_new_login_state_never_replaces_a_stored_one(monkeypatch: pytest.MonkeyPatch) -> None:
    stores, classlink = _stores(), StubClassLink(_info("s-1"))
    state, _ = _started(stores, classlink)
    monkeypatch.setattr(launch.secrets, "token_urlsafe", lambda size: state)  # a broken RNG
    with pytest.raises(StateTaken):
        _started(stores, classlink)
    assert len(_login_states(stores).items) == 1
