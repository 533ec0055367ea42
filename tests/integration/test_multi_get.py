"""One BatchGetItem across two tables (the sign-in's district and user), against moto server:
items in order, None for a missing one, the projection applied, unprocessed keys retried, and an
error (never a silent None) when DynamoDB keeps leaving a key unread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smartpass.data import multi_get
from smartpass.data.districts import District
from smartpass.data.multi_get import ItemKey, UnreadItems, get_items
from smartpass.data.roster import RosterUser


@pytest.fixture
def stored() -> None:
    District(tenant_id="2001", name="Maple", oneroster_application_id="app").save()
    RosterUser(
        tenant_id="2001",
        sourced_id="S-1",
        role="student",
        app_role="student",
        given_name="Zoë",
        family_name="O'Brien",
        content_hash="h",
        org_sourced_ids=["school-1"],
    ).save()


@pytest.fixture
def unprocessed() -> Iterator[dict[str, int]]:
    """Make DynamoDB's answers leave the user's table unprocessed, `left` times."""
    client = District._get_connection().connection.client
    plan = {"left": 1, "calls": 0}

    def leave_users_unread(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name != "BatchGetItem":
            return
        plan["calls"] += 1
        table = str(RosterUser.Meta.table_name)
        if plan["left"] > 0 and table in parsed.get("Responses", {}):
            plan["left"] -= 1
            parsed["Responses"].pop(table)
            parsed["UnprocessedKeys"] = {
                table: {"Keys": [{"tenant_id": {"S": "2001"}, "sourced_id": {"S": "S-1"}}]}
            }

    client.meta.events.register("after-call.dynamodb.BatchGetItem", leave_users_unread)
    try:
        yield plan
    finally:
        client.meta.events.unregister("after-call.dynamodb.BatchGetItem", leave_users_unread)


def keys(sourced_id: str = "S-1") -> list[ItemKey]:
    return [
        ItemKey(District, "2001", attributes=["tenant_id", "state"]),
        ItemKey(
            RosterUser,
            "2001",
            sourced_id,
            attributes=["tenant_id", "sourced_id", "app_role", "org_sourced_ids"],
        ),
    ]


def test_two_tables_in_one_request_with_the_projection(stored: None) -> None:
    district, user = get_items(keys())
    assert isinstance(district, District) and district.tenant_id == "2001" and district.name is None
    assert isinstance(user, RosterUser)
    assert (user.sourced_id, user.app_role, user.org_sourced_ids) == ("S-1", "student", ["school-1"])
    assert user.given_name is None  # not projected: a sign-in reads no names


def test_a_missing_item_is_none_in_its_place(stored: None) -> None:
    district, user = get_items(keys("nobody"))
    assert district is not None and user is None
    District.get("2001").delete()
    district, user = get_items(keys())
    assert district is None and user is not None


def test_unprocessed_keys_are_read_again(stored: None, unprocessed: dict[str, int]) -> None:
    district, user = get_items(keys())
    assert unprocessed["calls"] == 2 and unprocessed["left"] == 0
    assert district is not None and user is not None and user.sourced_id == "S-1"


def test_keys_left_unread_every_time_raise(stored: None, unprocessed: dict[str, int]) -> None:
    unprocessed["left"] = multi_get.MAX_TRIES
    with pytest.raises(UnreadItems, match=str(RosterUser.Meta.table_name)):
        get_items(keys())
    assert unprocessed["calls"] == multi_get.MAX_TRIES


def test_one_key_per_table() -> None:
    with pytest.raises(ValueError, match="one key per table"):
        get_items([ItemKey(District, "1"), ItemKey(District, "2")])
