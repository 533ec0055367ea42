"""Issue 17: a ClassLink that caps pages below the `limit` asked for (500 rows to `limit=10000`,
with a correct x-count). The district's 835 enrollments come in two pages: the pull must advance
by the rows that arrived (or by the Link header's next offset), write every record and deactivate
nobody, with x-total-count and without it.

The district is one of its own, added to the stack's sandbox for the test and removed after, so
the shared district 2001 and the sandbox's default paging are left as they were."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.paging import Paging
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.roster import RosterClass, RosterEnrollment, RosterOrg, RosterTerm, RosterUser
from smartpass.data.sync_runs import SyncRun
from tests.integration.sync_helpers import connect_district, sync

TENANT = "2017"
CAP = 500
STORED = {
    "users": RosterUser,
    "orgs": RosterOrg,
    "academicSessions": RosterTerm,
    "classes": RosterClass,
    "enrollments": RosterEnrollment,
}


@pytest.fixture
def capped(stack: LocalStack, stack_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """A district with more enrollments than a page holds, connected through the proxy."""
    stack_sandbox.add_district(
        DistrictSpec(tenant_id=int(TENANT), name="Cedar Falls District", seed=17, students=163, teachers=10)
    )
    try:
        connect_district(stack, stack_sandbox, TENANT)
        yield stack_sandbox
    finally:
        with stack_sandbox.world.lock:
            stack_sandbox.world.tenants.pop(int(TENANT))


def _shared(sandbox: SandboxServer, collection: str) -> set[str]:
    """What ClassLink shares of a collection; guardians are never stored."""
    tenant = sandbox.world.tenants[int(TENANT)]
    return {
        r["sourcedId"] for r in sandbox.app.engine.visible(tenant, collection) if r.get("role") != "guardian"
    }


def _stored(collection: str) -> tuple[set[str], set[str]]:
    """sourcedIds stored for the district: all of them, and the inactive ones."""
    records = list(STORED[collection].query(TENANT))
    return {r.sourced_id for r in records}, {r.sourced_id for r in records if not r.active}


def _runs() -> list[SyncRun]:
    return sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)


def _counts(run: SyncRun) -> dict[str, Any]:
    return dict(run.counts.as_dict()["total"])


@pytest.mark.parametrize(
    "paging",
    [
        Paging(page_cap={"*": CAP}),
        Paging(page_cap={"*": CAP}, link_headers=True, total_count=False),
        Paging(page_cap={"*": CAP}, total_count=False),
    ],
    ids=["x-total-count", "link-headers-no-total", "no-total-no-links"],
)
def test_capped_pages_sync_every_record_and_deactivate_nobody(
    stack: LocalStack, capped: SandboxServer, paging: Paging
) -> None:
    tenant = capped.world.tenants[int(TENANT)]
    tenant.paging = paging
    enrollments = _shared(capped, "enrollments")
    assert len(enrollments) > CAP  # two pages at least, the second a short one
    capped.world.traffic.reset()
    sync(stack, kind="initial", trigger="invitation", tenant=TENANT)
    [initial] = _runs()
    assert initial.state == "succeeded", initial.error
    for collection in STORED:
        stored, inactive = _stored(collection)
        assert stored == _shared(capped, collection), collection
        assert inactive == set(), collection
    # The sandbox saw exactly the requests the run counted: pages, not retries of a failing pull.
    assert capped.world.traffic.snapshot()["per_tenant"][TENANT]["requests"] == int(initial.requests)
    assert int(initial.retries) == 0

    sync(stack, kind="nightly", trigger="schedule:capped", tenant=TENANT)
    nightly = _runs()[-1]
    assert nightly.state == "succeeded", nightly.error
    counts = _counts(nightly)
    assert counts["deactivated"] == counts["created"] == counts["updated"] == 0
    assert counts["fetched"] == counts["unchanged"] + counts["ignored"] > len(enrollments)
    for collection in STORED:
        assert _stored(collection)[1] == set(), collection
    if not paging.total_count:
        # Nothing proves a pull without totals complete, and the run says so.
        assert any("no x-total-count" in finding for finding in nightly.findings)
