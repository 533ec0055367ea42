"""The sign-in's DynamoDB calls, counted on the local stack: the launch, the callback and the
session exchange make exactly these requests, in this order. A sign-in is latency-critical
(bench/sso.py), so a refactoring that adds a round trip (the district and the user read in two
GetItems instead of one BatchGetItem, a read before a conditional write) fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pynamodb.connection.base import Connection

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District
from smartpass.data.login import LoginCode, LoginState
from smartpass.data.roster import RosterUser
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import launchpad_browser, login_code, our_launch, session_claims
from tests.integration.sync_helpers import TENANT


def _tables(kwargs: dict[str, Any]) -> str:
    if "TableName" in kwargs:
        return str(kwargs["TableName"])
    return "+".join(sorted(kwargs.get("RequestItems", {})))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every DynamoDB request PynamoDB (and multi_get) dispatches in this process."""
    seen: list[tuple[str, str]] = []
    original = Connection.dispatch

    def counted(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        seen.append((operation_name, _tables(operation_kwargs)))
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", counted)
    yield seen


def test_a_sign_in_costs_seven_dynamodb_requests(
    stack: LocalStack, stack_sandbox: SandboxServer, calls: list[tuple[str, str]]
) -> None:
    poll(stack)
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    user = next(
        u
        for u in tenant.users().values()
        if u["role"] == "student" and u["status"] == "active" and u.get("enabledUser") == "true"
    )
    states, codes = str(LoginState.Meta.table_name), str(LoginCode.Meta.table_name)
    district_and_user = "+".join(sorted([str(District.Meta.table_name), str(RosterUser.Meta.table_name)]))
    browser = launchpad_browser(stack_sandbox, int(TENANT), user["sourcedId"])
    calls.clear()
    code = login_code(our_launch(browser, stack))
    assert calls == [
        ("PutItem", states),  # launch: the new login state, if its key is free
        ("UpdateItem", states),  # callback: the state consumed, once
        ("BatchGetItem", district_and_user),  # the district and the user in one round trip
        ("UpdateItem", str(RosterUser.Meta.table_name)),  # the ClassLink UserId and login time
        ("PutItem", codes),  # the one-time login code
    ]
    calls.clear()
    assert session_claims(stack, code, browser)["sourced_id"] == user["sourcedId"]
    assert calls == [("GetItem", codes), ("UpdateItem", codes)]  # the code read, then redeemed once
