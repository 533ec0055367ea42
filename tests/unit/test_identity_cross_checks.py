"""Identity cross-checks (security review finding 4), on the fakes: an id_token that names a
tenant or a person must agree with my/info; a `sub` that differs from the UserId is counted,
not refused; a record found by SourcedId that is inactive gives way to the record this ClassLink
account is linked to (ClassLink re-issues SourcedIds)."""

from __future__ import annotations

from typing import Any

from smartpass.classlink.oidc import MyInfo
from smartpass.data.base import utcnow
from smartpass.data.districts import District
from smartpass.data.stores import Stores
from smartpass.sso.identity import Person, Refusal, resolve_person
from tests.fakes.stores import FakeDistricts, fake_stores, rostered_user

TENANT = "3030"


def _stores() -> Stores:
    stores = fake_stores()
    assert isinstance(stores.districts, FakeDistricts)
    stores.districts.put(District(tenant_id=TENANT, name="Cedar", state="active", first_synced_at=utcnow()))
    return stores


def _user(stores: Stores, sourced_id: str, **fields: Any) -> None:
    rostered_user(stores, TENANT, sourced_id, **fields)


def _info(sourced_id: str = "s-1", user_id: int = 77) -> MyInfo:
    return MyInfo.model_validate({"UserId": user_id, "TenantId": int(TENANT), "SourcedId": sourced_id})


def test_an_id_token_naming_another_person_than_my_info_is_refused() -> None:
    stores = _stores()
    _user(stores, "s-1")
    _user(stores, "attacker")
    claims = {"sub": "77", "classLink_sourcedId": "attacker"}
    assert resolve_person(stores, _info("s-1"), claims) == Refusal("sourced_id_mismatch")


def test_an_id_token_that_agrees_signs_in_the_my_info_person() -> None:
    stores = _stores()
    _user(stores, "s-1")
    person = resolve_person(stores, _info("s-1"), {"sub": "77", "classLink_sourcedId": "s-1"})
    assert isinstance(person, Person) and person.sourced_id == "s-1" and not person.sub_differs


def test_a_sub_other_than_the_user_id_is_counted_not_refused() -> None:
    stores = _stores()
    _user(stores, "s-1")
    person = resolve_person(stores, _info("s-1"), {"sub": "something-else"})
    assert isinstance(person, Person) and person.sub_differs


def test_a_reissued_sourced_id_signs_in_the_record_linked_to_the_classlink_account() -> None:
    stores = _stores()
    _user(stores, "old-id", active=False, classlink_user_id="77")  # deactivated by a sync
    _user(stores, "new-id", classlink_user_id="77")  # the same person, linked at an earlier sign-in
    person = resolve_person(stores, _info("old-id"), {"sub": "77"})
    assert isinstance(person, Person) and person.sourced_id == "new-id"


def test_an_inactive_record_with_no_other_linked_record_is_still_refused() -> None:
    stores = _stores()
    _user(stores, "old-id", active=False, classlink_user_id="77")
    assert resolve_person(stores, _info("old-id"), {"sub": "77"}) == Refusal("user_deactivated")
