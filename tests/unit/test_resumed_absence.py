"""A resumed pull judges absence in a piece with time for it (review finding): reading all we
hold of a collection at the end of a piece that has used half its time could outlast the
invocation, and a Lambda timeout saves nothing. On the fakes, with a scripted clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartpass.classlink.oneroster import Page, RequestStats
from smartpass.data.districts import District, DistrictState, SyncSettings
from smartpass.data.roster import RosterUser
from smartpass.data.sync_runs import Checkpoint, SyncRun
from smartpass.sync.lease import acquire_lease
from smartpass.sync.piece import run_piece
from smartpass.sync.progress import SEEN, ProgressParts
from tests.fakes.stores import FakeDistricts, fake_stores
from tests.unit.test_collection_pull import _user

TENANT = "7001"
RUN_ID = "2026-12-04T02:00:00.000000Z#nightly#r"


class Roster:
    """ClassLink's users, in pages of the limit asked for, with a total."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.offsets: list[int] = []
        self.stats = RequestStats()

    def page(self, endpoint: str, envelope: str, *, offset: int, limit: int, fields: Any = ()) -> Page:
        self.offsets.append(offset)
        self.stats.requests += 1
        return Page(self.rows[offset : offset + limit], offset, limit, total=len(self.rows), perm_rev="1")


def _clock(start: float, step: float) -> Callable[[], float]:
    """Time left that shrinks by `step` at every look."""
    left = [start + step]

    def time_left() -> float:
        left[0] -= step
        return left[0]

    return time_left


def test_a_resumed_pull_that_used_half_its_piece_judges_absence_in_the_next() -> None:
    stores = fake_stores()
    districts = stores.districts
    assert isinstance(districts, FakeDistricts)
    district = districts.put(
        District(
            tenant_id=TENANT,
            name="Fake",
            state=DistrictState.SYNCING.value,
            sync_settings=SyncSettings(collections=["users"], page_size=10),
        )
    )
    run = SyncRun(tenant_id=TENANT, run_id=RUN_ID, kind="nightly", trigger="t")
    stores.runs.add(run)
    assert acquire_lease(stores, district, RUN_ID, 600)
    rows = [_user(f"u{n:02d}") for n in range(30)]
    store = stores.roster(RosterUser, TENANT, RUN_ID, run.created_at)
    for row in [*rows, _user("gone")]:  # we hold one user ClassLink no longer has
        store.create(row["sourcedId"], {"given_name": "Old"}, "00000000000000aa")
    # An earlier piece pulled the first page.
    progress = ProgressParts(stores.progress, TENANT, RUN_ID, run.created_at)
    progress.save(SEEN, "users", 0, [f"u{n:02d}" for n in range(10)])
    run.checkpoint = Checkpoint(phase="pull", collection="users", offset=10, page_size=10, total=30)
    run.checkpoint.saved_at = run.created_at
    run.counts = {"users": {"active_before": 31}}
    roster = Roster(rows)

    result, checkpoint = run_piece(stores, run, district, roster, 1, _clock(100.0, 30.0))  # type: ignore[arg-type]

    assert result.state == "continued" and checkpoint is not None
    assert (checkpoint.collection, int(checkpoint.offset)) == ("users", 30)
    assert result.held == 0 and not any(e for e in progress.load("pending", "users"))
    run.checkpoint = checkpoint
    result, checkpoint = run_piece(stores, run, district, roster, 2, _clock(100.0, 1.0))  # type: ignore[arg-type]

    assert roster.offsets == [10, 20, 30]  # the last piece asked for the page after the last
    assert result.state == "succeeded" and checkpoint is None
    assert result.counts["users"]["deactivated"] == 1
    gone = stores.users.get(TENANT, "gone")
    assert gone is not None and not gone.active
