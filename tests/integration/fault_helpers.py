"""Helpers for the fault survival suite (test_faults_*.py): the invariants every fault is checked
against, injecting a fault into a dependency the worker calls (never a test-only code path), and
the line each test records for `python -m bench.faults`.

Invariants, after the fault and whatever retries follow:
- nothing lost: every record ClassLink shares is stored and active, users with their current names;
- nothing wrongly deactivated: no stored record is inactive that ClassLink still shares, and
  none is active that it does not;
- none stuck: the district is not `syncing`, holds no lease, and no run is left `running`.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import (
    RosterClass,
    RosterEnrollment,
    RosterOrg,
    RosterRecord,
    RosterTerm,
    RosterUser,
)
from smartpass.data.sync_runs import SyncRun
from tests.integration.sync_helpers import TENANT

WORKER = "NightlySyncWorkerFunction"
COLLECTIONS: dict[str, type[RosterRecord]] = {
    "users": RosterUser,
    "orgs": RosterOrg,
    "classes": RosterClass,
    "enrollments": RosterEnrollment,
    "academicSessions": RosterTerm,
}


def shared(sandbox: SandboxServer, collection: str, tenant_id: str = TENANT) -> dict[str, dict[str, Any]]:
    """What ClassLink shares with us now and a sync keeps active (guardians are not synced)."""
    tenant = sandbox.world.tenants[int(tenant_id)]
    return {
        r["sourcedId"]: r
        for r in sandbox.app.engine.visible(tenant, collection)
        if r.get("status") != "tobedeleted" and not (collection == "users" and r.get("role") == "guardian")
    }


def invariants(sandbox: SandboxServer, tenant_id: str = TENANT) -> dict[str, bool]:
    """Each invariant, checked against the sandbox's roster and what DynamoDB holds."""
    lost = wrongly_inactive = wrongly_active = False
    for collection, model in COLLECTIONS.items():
        expected = shared(sandbox, collection, tenant_id)
        stored = {r.sourced_id: r for r in model.query(tenant_id)}
        active = {sid for sid, r in stored.items() if r.active}
        lost |= bool(set(expected) - set(stored))
        wrongly_inactive |= bool(set(expected) & (set(stored) - active))
        wrongly_active |= bool(active - set(expected))
        if collection == "users":
            lost |= any(
                (stored[sid].given_name, stored[sid].family_name) != (u.get("givenName"), u.get("familyName"))
                for sid, u in expected.items()
                if sid in stored
            )
    district = District.get(tenant_id)
    running = [r.run_id for r in SyncRun.query(tenant_id) if r.state == "running"]
    return {
        "nothing_lost": not lost,
        "nothing_wrongly_deactivated": not wrongly_inactive and not wrongly_active,
        "none_stuck_in_syncing": district.state != DistrictState.SYNCING.value
        and district.sync_lease_run_id is None
        and not running,
    }


def assert_invariants(sandbox: SandboxServer, tenant_id: str = TENANT) -> dict[str, bool]:
    checks = invariants(sandbox, tenant_id)
    assert all(checks.values()), checks
    return checks


def record(
    record_property: Callable[[str, object], None],
    family: str,
    fault: str,
    outcome: str,
    checks: dict[str, bool],
) -> None:
    """What bench.faults prints for this test: the fault tried, its outcome, the invariants."""
    record_property(
        "fault", json.dumps({"family": family, "fault": fault, "outcome": outcome, "checks": checks})
    )


def runs(tenant_id: str = TENANT) -> list[SyncRun]:
    return sorted(SyncRun.query(tenant_id), key=lambda r: r.run_id)


def redeliver(stack: LocalStack, rounds: int = 3) -> int:
    """Let SQS deliver failed messages again (their visibility timeout run out), as often as it
    would before the DLQ. Returns how many deliveries had failed."""
    source = stack.sqs_sources[0]
    failed = source.failed
    for _ in range(rounds):
        if not source.release_failed():
            break
        stack.drain(timeout_seconds=120)
    return failed


class Died(Exception):
    """The worker's invocation dies here (what a crash, a kill or a timeout would leave)."""


@contextmanager
def dies_at(owner: Any, name: str, call: int = 1, times: int = 1) -> Iterator[list[int]]:
    """`owner.name` raises Died on its `call`-th call (and the `times - 1` calls after it); the
    real method runs otherwise. Yields the list of call numbers that died."""
    original = getattr(owner, name)
    lock = threading.Lock()
    calls = [0]
    died: list[int] = []

    def dying(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[0] += 1
            n = calls[0]
        if call <= n < call + times:
            died.append(n)
            raise Died(f"{name} died at call {n}")
        return original(*args, **kwargs)

    setattr(owner, name, dying)
    try:
        yield died
    finally:
        setattr(owner, name, original)


@dataclass
class Stall:
    """The first call of a patched method blocks (after or before doing its work) until the test
    releases it: a worker that stalls there while the world moves on."""

    entered: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)
    calls: int = 0


@contextmanager
def stalls(
    owner: Any, name: str, after: bool = False, when: Callable[..., bool] = lambda *a, **k: True
) -> Iterator[Stall]:
    """`owner.name`'s first call (of those `when` accepts) waits for `stall.go` (before its
    work, or after it with `after`); later calls run as usual."""
    original = getattr(owner, name)
    stall = Stall()
    lock = threading.Lock()

    def stalling(*args: Any, **kwargs: Any) -> Any:
        with lock:
            first = False
            if when(*args, **kwargs):
                stall.calls += 1
                first = stall.calls == 1
        if first and not after:
            stall.entered.set()
            assert stall.go.wait(120), "the test never released the stalled call"
        result = original(*args, **kwargs)
        if first and after:
            stall.entered.set()
            assert stall.go.wait(120), "the test never released the stalled call"
        return result

    setattr(owner, name, stalling)
    try:
        yield stall
    finally:
        stall.go.set()
        setattr(owner, name, original)


def in_background(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


# ------------------------------------------------------------------ DynamoDB faults at the SDK
THROTTLES = {
    "ProvisionedThroughputExceededException": (
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    ),
    "ThrottlingException": "com.amazon.coral.availability#ThrottlingException",
}


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


@dataclass
class SdkFaults:
    """Answers some DynamoDB requests for the given tables in botocore's place (a `before-send`
    handler on every DynamoDB client), so the SDK's retries, PynamoDB's unprocessed-item resends
    and the worker all see what DynamoDB would send. `kind`: a throttling error code, or
    "UnprocessedItems" (a BatchWriteItem answered 200 with every item unprocessed)."""

    tables: set[str]
    kind: str
    every: int = 1  # every n-th request for those tables
    active: bool = True
    seen: int = 0
    injected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Any, **_: Any) -> Any:
        body = json.loads(request.body or b"{}")
        tables = {body.get("TableName")} | set(body.get("RequestItems", {}))
        operation = request.headers.get("X-Amz-Target", b"")
        operation = (operation.decode() if isinstance(operation, bytes) else operation).rsplit(".", 1)[-1]
        if not self.active or not tables & self.tables:
            return None
        if self.kind == "UnprocessedItems" and operation != "BatchWriteItem":
            return None
        with self._lock:
            self.seen += 1
            if self.seen % self.every:
                return None
            self.injected += 1
        headers = {"x-amzn-RequestId": f"fault-{self.injected}", "Content-Type": "application/x-amz-json-1.0"}
        if self.kind == "UnprocessedItems":
            answer = {"UnprocessedItems": body["RequestItems"]}
            return AWSResponse(request.url, 200, headers, _Body(json.dumps(answer).encode()))
        error = {
            "__type": THROTTLES[self.kind],
            "message": "Rate of requests exceeds the allowed throughput.",
        }
        return AWSResponse(request.url, 400, headers, _Body(json.dumps(error).encode()))


@contextmanager
def dynamodb_faults(faults: SdkFaults) -> Iterator[SdkFaults]:
    """Install `faults` on every DynamoDB client that makes a call meanwhile (PynamoDB makes one
    per thread), and take it off them afterwards."""
    original = BaseClient._make_api_call
    clients: dict[int, BaseClient] = {}
    lock = threading.Lock()

    def calling(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            with lock:
                if id(client) not in clients:
                    clients[id(client)] = client
                    client.meta.events.register_first("before-send.dynamodb", faults)
        return original(client, operation, params)

    BaseClient._make_api_call = calling  # type: ignore[method-assign]
    try:
        yield faults
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
        for client in clients.values():
            client.meta.events.unregister("before-send.dynamodb", faults)
