"""The sync's rules on in-memory repositories (tests/fakes): the lease, what a request does when
it cannot simply run, the finish, the report's audience and the one-decision hold. Milliseconds
each; the integration tier proves the same paths through moto server and the sandbox."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smartpass.data.districts import District, DistrictState
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import FailureCode, SyncRun, SyncState
from smartpass.sync.connection import ConnectionUnavailable
from smartpass.sync.continuation import DEFER_SECONDS, MAX_DEFERRALS
from smartpass.sync.finish import finish
from smartpass.sync.handle_request import handle_request
from smartpass.sync.holds import HoldError, approve_hold, reject_hold
from smartpass.sync.lease import acquire_lease, release_lease
from smartpass.sync.piece import Piece, PieceResult
from smartpass.sync.progress import HELD, ProgressParts
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncKind, SyncRequest
from smartpass.sync.services import RequestOutcome, SyncServices, UnknownDistrict
from tests.fakes.stores import FakeDistricts, FakeHistory, fake_stores

TENANT = "7001"
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
STAMP = "2026-12-04T02:00:00.000000Z"


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[SyncRequest, int]] = []
        self.reports: list[Report] = []
        self.emails: list[str] = []


def _services(stores: Stores, outbox: Outbox, connect: Any = None) -> SyncServices:
    def refuse(district: District) -> Any:
        raise ConnectionUnavailable("the district's connection secret cannot be read")

    return SyncServices(
        stores=stores,
        connect=connect or refuse,
        send=lambda request, delay: outbox.sent.append((request, delay)),
        notify=outbox.reports.append,
        email=lambda to, report: outbox.emails.append(to),
    )


def _district(stores: Stores, state: str = DistrictState.ACTIVE.value, **fields: Any) -> District:
    districts = stores.districts
    assert isinstance(districts, FakeDistricts)
    return districts.put(District(tenant_id=TENANT, name="Fake District", state=state, **fields))


def _request(kind: str = "nightly", **fields: Any) -> SyncRequest:
    return SyncRequest(tenant_id=TENANT, kind=SyncKind(kind), trigger="test", requested_at=NOW, **fields)


def _plenty() -> float:
    return 600.0


# ------------------------------------------------------------------ lease
def test_a_lease_is_one_run_at_a_time_until_it_expires() -> None:
    stores = fake_stores()
    district = _district(stores)
    assert acquire_lease(stores, district, "run-a", 60)
    assert acquire_lease(stores, district, "run-a", 60)  # the holder renews
    assert not acquire_lease(stores, district, "run-b", 60)
    release_lease(stores, district, "run-b")  # not the holder: nothing happens
    assert (stores.districts.get(TENANT) or district).sync_lease_run_id == "run-a"
    release_lease(stores, district, "run-a")
    assert acquire_lease(stores, district, "run-b", 60)


def test_an_expired_lease_is_taken_by_another_run() -> None:
    stores = fake_stores()
    past = datetime.now(UTC) - timedelta(minutes=1)
    district = _district(stores, sync_lease_run_id="dead-worker", sync_lease_expires_at=past)
    assert acquire_lease(stores, district, "run-b", 60)
    assert district.sync_lease_run_id == "run-b"


# ------------------------------------------------------------------ requests that do not run
def test_a_request_for_an_unknown_district_is_refused() -> None:
    with pytest.raises(UnknownDistrict):
        handle_request(_request(), _services(fake_stores(), Outbox()), _plenty)


@pytest.mark.parametrize(
    ("kind", "state"),
    [("nightly", "paused"), ("nightly", "held"), ("nightly", "connecting"), ("initial", "paused")],
)
def test_a_run_the_districts_state_forbids_is_skipped_and_not_reported(kind: str, state: str) -> None:
    stores, outbox = fake_stores(), Outbox()
    _district(stores, state=state)
    outcome = handle_request(_request(kind), _services(stores, outbox), _plenty)
    assert outcome.state == SyncState.SKIPPED.value and outcome.reason == f"district is {state}"
    run = stores.runs.get(TENANT, outcome.run_id)
    assert run is not None and run.state == "skipped" and run.error == f"district is {state}"
    assert outbox.reports == [] and outbox.sent == []
    assert (stores.districts.get(TENANT) or District()).state == state  # left as it was


def test_a_later_piece_of_a_paused_district_deactivates_nothing() -> None:
    stores, outbox = fake_stores(), Outbox()
    _district(stores, state="paused")
    first = _request("manual")
    stores.runs.add(SyncRun(tenant_id=TENANT, run_id=first.resolved_run_id(), kind="manual", trigger="t"))
    outcome = handle_request(first.model_copy(update={"piece": 1}), _services(stores, outbox), _plenty)
    assert outcome.state == "skipped" and "nothing was deactivated" in outcome.reason


def test_a_busy_district_makes_the_request_wait_not_fail() -> None:
    stores, outbox = fake_stores(), Outbox()
    district = _district(stores)
    assert acquire_lease(stores, district, "another-run", 600)
    outcome = handle_request(_request(), _services(stores, outbox), _plenty)
    assert outcome.state == "deferred"
    [(again, delay)] = outbox.sent
    assert delay == DEFER_SECONDS and again.deferrals == 1 and again.resolved_run_id() == outcome.run_id
    assert (stores.runs.get(TENANT, outcome.run_id) or SyncRun()).state == "queued"


def test_a_request_that_waited_too_long_fails_with_the_reason() -> None:
    stores, outbox = fake_stores(), Outbox()
    assert acquire_lease(stores, _district(stores), "another-run", 600)
    outcome = handle_request(_request(deferrals=MAX_DEFERRALS), _services(stores, outbox), _plenty)
    run = stores.runs.get(TENANT, outcome.run_id)
    assert outcome.state == "failed" and outbox.sent == []
    assert run is not None and run.state == "failed" and "another-run" in (run.error or "")


def test_a_duplicate_of_a_finished_run_does_nothing() -> None:
    stores, outbox = fake_stores(), Outbox()
    _district(stores, state="paused")
    first = handle_request(_request(), _services(stores, outbox), _plenty)
    writes = stores.districts.writes if isinstance(stores.districts, FakeDistricts) else 0
    again = handle_request(_request(), _services(stores, outbox), _plenty)
    assert (first.state, again.state) == ("skipped", "duplicate")
    assert isinstance(stores.districts, FakeDistricts) and stores.districts.writes == writes


def test_a_district_without_a_readable_connection_fails_and_releases_its_lease() -> None:
    stores, outbox = fake_stores(), Outbox()
    _district(stores)
    outcome = handle_request(_request(), _services(stores, outbox), _plenty)
    district = stores.districts.get(TENANT)
    assert outcome.state == "failed" and district is not None
    assert (district.state, district.connection_ok, district.sync_lease_run_id) == ("error", False, None)
    assert district.last_run is not None and district.last_run.state == "failed"
    history = stores.history
    assert isinstance(history, FakeHistory) and history.kinds(TENANT) == [
        "state_changed",  # to syncing
        "state_changed",  # to error
        "report_sent",
    ]


# ------------------------------------------------------------------ the finish and its report
def _finished(stores: Stores, outbox: Outbox, result: PieceResult, kind: str = "initial") -> SyncRun:
    district = _district(stores, state="syncing", contact_email="it@district.example")
    run = SyncRun(tenant_id=TENANT, run_id=f"2026-12-04T02:00:00.000000Z#{kind}#x", kind=kind, trigger="t")
    stores.runs.add(run)
    assert acquire_lease(stores, district, run.run_id, 60)  # a run finishes holding the lease
    outcome = RequestOutcome(TENANT, run.run_id, "running", 0, result=result)
    finish(_services(stores, outbox), run, district, outcome, result.state, result.message)
    return stores.runs.get(TENANT, run.run_id) or run


def _failure(message: str, revoked: bool) -> PieceResult:
    return PieceResult("failed", {"total": {}}, 1, 0, 0.1, message=message, revoked=revoked)


def test_revoked_credentials_are_a_reason_code_and_reach_operators_only() -> None:
    stores, outbox = fake_stores(), Outbox()
    run = _finished(stores, outbox, _failure("ClassLink said 401", revoked=True))
    district = stores.districts.get(TENANT)
    assert run.failure_code == FailureCode.CREDENTIALS_REVOKED.value
    assert district is not None and (district.sharing_enabled, district.connection_ok) == (False, False)
    assert len(outbox.reports) == 1 and outbox.emails == []


def test_a_failure_that_only_mentions_credentials_in_words_still_reaches_the_district() -> None:
    stores, outbox = fake_stores(), Outbox()
    run = _finished(
        stores, outbox, _failure("ClassLink refused our credentials, said a proxy", revoked=False)
    )
    assert run.failure_code is None
    assert len(outbox.reports) == 1 and outbox.emails == ["it@district.example"]


def test_a_report_that_cannot_be_sent_is_noted_and_the_run_still_ends() -> None:
    stores, outbox = fake_stores(), Outbox()
    services = _services(stores, outbox)

    def topic_down(report: Report) -> None:
        raise RuntimeError("throttled")

    district = _district(stores, state="syncing")
    run = SyncRun(
        tenant_id=TENANT, run_id="2026-12-04T02:00:00.000000Z#initial#y", kind="initial", trigger="t"
    )
    stores.runs.add(run)
    assert acquire_lease(stores, district, run.run_id, 60)
    services.notify = topic_down
    outcome = RequestOutcome(TENANT, run.run_id, "running", 0, result=_failure("boom", revoked=False))
    finish(services, run, district, outcome, "failed", "boom")
    stored = stores.runs.get(TENANT, run.run_id)
    assert stored is not None and stored.state == "failed" and stored.reported_at is not None
    assert any("told: nobody" in f for f in stored.findings or [])


# ------------------------------------------------------------------ hold threshold and decisions
def _piece(stores: Stores, district: District, active: int, pending: int, distinct: int = 1) -> Piece:
    run = SyncRun(tenant_id=TENANT, run_id="r", kind="nightly", trigger="t")
    piece = Piece(
        stores=stores, run=run, district=district, client=None,  # type: ignore[arg-type]
        time_left=_plenty, piece=0, now=NOW, names=["users"],
        progress=ProgressParts(stores.progress, TENANT, "r", NOW),
        counts={"users": Counter({"active_before": active, "distinct": distinct})},
    )  # fmt: skip
    piece.pending["users"] = {f"u{n}": ("absent", "0") for n in range(pending)}
    return piece


@pytest.mark.parametrize(
    ("active", "pending", "held"),
    [(1000, 100, False), (1000, 101, True), (100, 50, False), (100, 51, True), (0, 0, False)],
)
def test_the_threshold_is_the_larger_of_a_share_and_a_number(active: int, pending: int, held: bool) -> None:
    stores = fake_stores()
    reasons = _piece(stores, _district(stores), active, pending).over_threshold()
    assert bool(reasons) is held


def test_an_empty_pull_of_a_collection_we_hold_is_held() -> None:
    stores = fake_stores()
    reasons = _piece(stores, _district(stores), active=3, pending=0, distinct=0).over_threshold()
    assert reasons == ["ClassLink sent no users while we hold 3 active ones"]


def _held_run(stores: Stores) -> SyncRun:
    _district(stores, state="held")
    run = SyncRun(
        tenant_id=TENANT, run_id="2026-12-04T02:00:00.000000Z#nightly#h", kind="nightly", trigger="t"
    )
    run.state, run.held_deactivations = SyncState.HELD.value, 1
    stores.runs.add(run)
    store = stores.roster(
        __import__("smartpass.data.roster", fromlist=["RosterUser"]).RosterUser, TENANT, "x", NOW
    )
    store.create("u1", {"given_name": "A"}, "ab")
    ProgressParts(stores.progress, TENANT, run.run_id, NOW).save(HELD, "users", 0, [["u1", "absent", "ab"]])
    return run


def test_approving_a_hold_applies_what_still_holds_and_reactivates_the_district() -> None:
    stores = fake_stores()
    run = _held_run(stores)
    assert approve_hold(stores, TENANT, run.run_id, "alice") == {
        "applied": 1,
        "no_longer_applicable": 0,
        "remaining": 0,
    }
    district = stores.districts.get(TENANT)
    assert district is not None and district.state == "active" and district.sync_lease_run_id is None
    assert (stores.runs.get(TENANT, run.run_id) or run).state == "approved"


def test_one_decision_per_hold() -> None:
    stores = fake_stores()
    run = _held_run(stores)
    stored = stores.runs.get(TENANT, run.run_id)
    assert stored is not None and stores.runs.update(stored, {"decided_by": "alice"})
    with pytest.raises(HoldError, match="being decided by alice"):
        reject_hold(stores, TENANT, run.run_id, "bob")


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_unit_tier_cannot_open_a_socket() -> None:
    import socket

    from pytest_socket import SocketBlockedError

    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
