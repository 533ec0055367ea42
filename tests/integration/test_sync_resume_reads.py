"""A run split over pieces reads what we hold once per pull, not once per piece (issue 17): a
resumed piece looks up the records of the pages it fetches, and absence is judged in one pass
at the end. Counted at botocore: the items read by the diff's reads (the projection of sourcedId,
content hash and active) of the users table."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.base import utcnow
from smartpass.data.roster import RosterUser
from smartpass.data.roster_store import DynamoRosterStore
from tests.integration.sync_helpers import TENANT
from tests.integration.test_sync import _shared_users, synced
from tests.integration.test_sync_faults import _nightly, _small_pages

__all__ = ["synced"]

DIFF_ATTRIBUTES = {"sourced_id", "content_hash", "active"}
KEY_ATTRIBUTES = {"tenant_id", "sourced_id"}  # named in a Query's key condition


@contextmanager
def diff_reads(table: str) -> Iterator[Counter[str]]:
    """Items returned to the sync's diff reads of `table` (Query and BatchGetItem asking for
    exactly sourcedId, content hash and active), while the block runs."""
    counter: Counter[str] = Counter()
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        response = original(client, operation, params)
        if operation == "Query" and params.get("TableName") == table:
            names = set(params.get("ExpressionAttributeNames", {}).values())
            if DIFF_ATTRIBUTES <= names <= DIFF_ATTRIBUTES | KEY_ATTRIBUTES:
                with lock:
                    counter["items"] += len(response.get("Items", []))
        elif operation == "BatchGetItem" and table in params.get("RequestItems", {}):
            names = set(params["RequestItems"][table].get("ExpressionAttributeNames", {}).values())
            if names == DIFF_ATTRIBUTES:
                with lock:
                    counter["items"] += len(response.get("Responses", {}).get(table, []))
        return response

    BaseClient._make_api_call = counting
    try:
        yield counter
    finally:
        BaseClient._make_api_call = original


def test_a_resumed_pull_reads_the_remaining_pages_and_one_absence_pass(
    stack: LocalStack, synced: SandboxServer
) -> None:
    tenant = synced.world.tenants[int(TENANT)]
    students = sorted(sid for sid, u in _shared_users(synced).items() if u["role"] == "student")
    apply_change(tenant, {"op": "purge", "sourcedIds": [students[3]]})
    held = sum(1 for _ in RosterUser.query(TENANT))
    _small_pages(20)
    synced.app.faults.add(
        Fault(kind="slow", tenant_id=int(TENANT), collection="users", params={"delay_seconds": 0.3})
    )
    worker = stack.functions["NightlySyncWorkerFunction"]
    worker.timeout_seconds = 3
    try:
        with diff_reads(stack.environment["ROSTER_USERS_TABLE"]) as reads:
            run = _nightly(stack, "schedule:resume-reads")
    finally:
        worker.timeout_seconds = worker.template_timeout_seconds
    assert run.state == "succeeded", run.error
    pieces = int(run.pieces)
    fetched = int(run.counts.as_dict()["users"]["fetched"])
    assert pieces >= 4
    # The first piece reads what we hold; later pieces read the records of their own pages
    # (at most the rows fetched); the end reads it all once more to judge absence.
    assert reads["items"] <= 2 * held + fetched
    # Read once per piece, as before, it would have been at least `pieces` times what we hold.
    assert reads["items"] < pieces * held
    users = {u.sourced_id: u for u in RosterUser.query(TENANT)}
    assert not users[students[3]].active and users[students[3]].deactivation_reason == "absent"
    assert sum(1 for u in users.values() if u.active) == len(_shared_users(synced))


def test_a_lookup_whose_key_range_holds_far_more_reads_by_key(
    stack: LocalStack, synced: SandboxServer
) -> None:
    store = DynamoRosterStore(RosterUser, TENANT, "lookup-test", utcnow())
    held = store.existing()
    first, last = min(held), max(held)
    assert len(held) > 2 * 2 + 100  # the range of these two spans more than the lookup's budget
    with diff_reads(stack.environment["ROSTER_USERS_TABLE"]) as reads:
        found = store.lookup([first, last, "no-such-user"])
    assert found == {first: held[first], last: held[last]}
    # The range read stopped at its budget; the two were then read by key.
    assert reads["items"] <= 2 * 2 + 100 + 100 + 2
