"""Onboarding's rules on in-memory repositories: discovery, the compare-and-set that makes two
overlapping polls queue one sync, failures told to operators once, pauses the poll may and may
not undo. The integration tier runs the same paths through the Partner API of the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.partner_api import ApplicationRow, DirectServer
from smartpass.data.districts import District
from smartpass.data.stores import Stores
from smartpass.onboarding.connect import OnboardingServices, connect_district
from smartpass.onboarding.credentials import SecretValue
from smartpass.onboarding.discovery import reconcile_districts
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncRequest
from tests.fakes.stores import FakeHistory, fake_stores

TENANT = "4242"


class World:
    """What onboarding would send and store outside DynamoDB."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.secrets: dict[str, SecretValue] = {}
        self.sent: list[SyncRequest] = []
        self.reports: list[Report] = []

    def services(self, stores: Stores) -> OnboardingServices:
        def verify(district: District, credentials: SecretValue) -> None:
            if self.refuse:
                raise ClassLinkError("refused", status=401)

        return OnboardingServices(
            stores=stores,
            secret_prefix="smartpass/district/",
            write_secret=self.secrets.__setitem__,
            verify=verify,
            send=self.sent.append,
            notify=self.reports.append,
        )


def _row(**fields: Any) -> ApplicationRow:
    row = {
        "tenant_id": TENANT,
        "tenant_name": "Fake Valley",
        "enabled": "true",
        "tenant_status": "Active",
        "oneroster_application_id": "abc%3D",
        "bearer": "bearer-1",
    }
    return ApplicationRow.model_validate({**row, **fields})


def _no_direct_server(application_id: str) -> DirectServer:
    raise AssertionError("a proxy district needs no direct server")


def _poll(stores: Stores, world: World, *rows: ApplicationRow) -> Any:
    return reconcile_districts(rows, stores.districts.all(), world.services(stores), _no_direct_server)


def _kinds(stores: Stores) -> list[str]:
    assert isinstance(stores.history, FakeHistory)
    return stores.history.kinds(TENANT)


def test_a_listed_tenant_is_discovered_connected_and_its_initial_sync_queued() -> None:
    stores, world = fake_stores(), World()
    result = _poll(stores, world, _row())
    district = stores.districts.get(TENANT)
    assert result.discovered == [TENANT] and result.connected == [TENANT]
    assert district is not None and district.state == "connecting" and district.connection_ok
    assert [r.kind.value for r in world.sent] == ["initial"] and list(world.secrets) == [
        f"smartpass/district/{TENANT}"
    ]
    assert _kinds(stores) == ["discovered", "connected"]


def test_two_polls_from_the_same_reading_queue_one_sync() -> None:
    stores, world = fake_stores(), World()
    _poll(stores, world, _row())
    district = stores.districts.get(TENANT)
    assert district is not None and len(world.sent) == 1
    stores.districts.update(district, {"onboarding_request": None})  # say its sync was never queued
    first, second = stores.districts.get(TENANT), stores.districts.get(TENANT)  # two polls read it
    assert first is not None and second is not None
    credentials = {"mode": "proxy", "bearer": "b", "application_id": "abc%3D"}
    outcomes = [connect_district(d, credentials, world.services(stores), "test") for d in (first, second)]
    assert [o.queued_run_id is not None for o in outcomes] == [True, False]
    assert outcomes[1].reason == "another poll queued this district's sync"
    assert len(world.sent) == 2


def test_a_refused_check_goes_to_error_and_is_told_to_operators_once() -> None:
    stores, world = fake_stores(), World(refuse=True)
    _poll(stores, world, _row())
    district = stores.districts.get(TENANT)
    assert district is not None and district.state == "error" and district.connect_attempts == 1
    # as if the retry pause (one minute after the first failure) had passed
    stores.districts.update(district, {"updated_at": datetime.now(UTC) - timedelta(minutes=2)})
    _poll(stores, world, _row())
    district = stores.districts.get(TENANT)
    assert district is not None and district.connect_attempts == 2
    assert len(world.reports) == 1 and world.sent == []


def test_a_tenant_no_longer_listed_is_paused_and_resumed_when_listed_again() -> None:
    stores, world = fake_stores(), World()
    _poll(stores, world, _row(), _row(tenant_id="99"))
    result = _poll(stores, world, _row(tenant_id="99"))
    assert result.paused == [TENANT] and (stores.districts.get(TENANT) or District()).state == "paused"
    result = _poll(stores, world, _row(), _row(tenant_id="99"))
    assert result.resumed == [TENANT]


def test_the_poll_never_resumes_a_district_an_operator_paused() -> None:
    stores, world = fake_stores(), World()
    _poll(stores, world, _row(), _row(tenant_id="99"))
    district = stores.districts.get(TENANT)
    assert district is not None
    stores.districts.update(district, {"state": "paused", "paused_by": "operator:alice"})
    result = _poll(stores, world, _row(), _row(tenant_id="99"))
    assert result.resumed == [] and (stores.districts.get(TENANT) or District()).state == "paused"


def test_an_empty_list_pauses_nobody() -> None:
    stores, world = fake_stores(), World()
    _poll(stores, world, _row())
    result = _poll(stores, world)
    assert result.empty_list_ignored and result.paused == []
