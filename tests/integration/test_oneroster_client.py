"""The OneRoster client against the sandbox over HTTP, with its waits recorded instead of slept:
Retry-After is honoured, backoff grows, a 502 halves the page, a 401 reads the credentials once
more, a wait longer than the invocation has left stops in time."""

from __future__ import annotations

from typing import Any

import pytest

from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oneroster import (
    AccessRevoked,
    OneRosterClient,
    OutOfTime,
    ProxyConnection,
    RetryPolicy,
)

FIELDS = ("sourcedId", "status", "role")


@pytest.fixture
def bench(sandbox: SandboxServer) -> tuple[SandboxServer, dict[str, Any]]:
    return sandbox, sandbox.describe()["tenants"][0]


def _client(
    sandbox: SandboxServer, tenant: dict[str, Any], waits: list[float], **kwargs: Any
) -> OneRosterClient:
    connection = ProxyConnection(
        f"{sandbox.base_url}/partner", tenant["oneroster_application_id"], tenant["bearer"]
    )
    return OneRosterClient(
        connection, retry=RetryPolicy(max_retries=3, backoff_seconds=0.5), sleep=waits.append, **kwargs
    )


def test_retry_after_is_honoured_and_backoff_grows(bench: tuple[SandboxServer, dict[str, Any]]) -> None:
    sandbox, tenant = bench
    sandbox.app.faults.add(
        Fault(kind="http_429", tenant_id=3001, collection="users", times=1, params={"retry_after": 7})
    )
    sandbox.app.faults.add(Fault(kind="http_503", tenant_id=3001, collection="users", times=2))
    waits: list[float] = []
    client = _client(sandbox, tenant, waits)
    page = client.page("users", "users", offset=0, limit=50, fields=FIELDS)
    assert len(page.rows) == 50 and page.total is not None
    assert waits[0] == 7.0  # the server's Retry-After, not our backoff
    assert waits[1] < waits[2] <= 2.0 + 0.5  # exponential (0.5 x 2^n), with up to 0.5 s of jitter
    assert (client.stats.requests, client.stats.retries) == (4, 3)


def test_retries_are_bounded(bench: tuple[SandboxServer, dict[str, Any]]) -> None:
    sandbox, tenant = bench
    sandbox.app.faults.add(Fault(kind="http_500", tenant_id=3001, collection="users"))
    waits: list[float] = []
    with pytest.raises(ClassLinkError, match="answered 500 after 3 retries"):
        _client(sandbox, tenant, waits).page("users", "users", offset=0, limit=50, fields=FIELDS)
    assert len(waits) == 3


def test_a_502_halves_the_page(bench: tuple[SandboxServer, dict[str, Any]]) -> None:
    sandbox, tenant = bench
    sandbox.app.faults.add(Fault(kind="http_502", tenant_id=3001, collection="users", times=2))
    client = _client(sandbox, tenant, [])
    page = client.page("users", "users", offset=0, limit=40, fields=FIELDS)
    assert (page.limit, len(page.rows), client.stats.page_size_halvings) == (10, 10, 2)


def test_a_401_reads_the_credentials_once_more(bench: tuple[SandboxServer, dict[str, Any]]) -> None:
    sandbox, tenant = bench
    world_tenant = sandbox.world.tenants[3001]
    new_bearer = apply_change(world_tenant, {"op": "rotate_bearer"})["bearer"]
    reads: list[str] = []

    def refresh() -> ProxyConnection:
        reads.append("read")
        return ProxyConnection(f"{sandbox.base_url}/partner", tenant["oneroster_application_id"], new_bearer)

    client = _client(sandbox, tenant, [], refresh_connection=refresh)
    assert client.page("users", "users", offset=0, limit=5, fields=FIELDS).rows
    assert reads == ["read"] and client.stats.credential_refreshes == 1
    apply_change(world_tenant, {"op": "rotate_bearer"})  # rotated again: the stored one is stale
    with pytest.raises(AccessRevoked):
        client.page("users", "users", offset=0, limit=5, fields=FIELDS)
    assert reads == ["read", "read"]  # read once more, then refused: never a loop


def test_a_wait_longer_than_the_time_left_stops_in_time(bench: tuple[SandboxServer, dict[str, Any]]) -> None:
    sandbox, tenant = bench
    sandbox.app.faults.add(
        Fault(kind="http_429", tenant_id=3001, collection="users", params={"retry_after": 60})
    )
    waits: list[float] = []
    client = _client(sandbox, tenant, waits, time_left=lambda: 30.0)
    with pytest.raises(OutOfTime, match="wait 60 s"):
        client.page("users", "users", offset=0, limit=5, fields=FIELDS)
    assert waits == []
