"""One poll of the Partner API: reconcile its tenants with our District rows and connect the
ones that need it.

- A live tenant we do not know becomes a District and is connected (connect.py).
- A known one is renamed if ClassLink renamed it, gets its rotated bearer stored, is resumed
  if it was paused, and is connected again after a refused connection (with a growing pause).
- A district no longer listed, or listed as disabled, is paused, never deleted. If any row
  failed to parse we pause nobody: that tenant might be the unparsable row. An empty list
  while districts are connected is treated as ClassLink failing in a success-shaped way
  (prior-art takeaway 5), not as every district leaving at once.
- Districts an operator registered by hand are not the Partner API's to change, nor are the
  ones an operator paused (`paused_by`): only an operator resumes those.
Every change is recorded in the district's history with the actor `classlink-poll`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oneroster import OutOfTime
from smartpass.classlink.partner_api import ApplicationRow, DirectServer
from smartpass.data.base import utcnow
from smartpass.data.changes import absent, equals
from smartpass.data.districts import District, DistrictState
from smartpass.data.stores import Stores
from smartpass.district_state import change_state, record_event
from smartpass.onboarding.connect import (
    OnboardingServices,
    connect_district,
    connection_failed,
    follow_up,
    retry_due,
)
from smartpass.onboarding.credentials import SecretValue, fingerprint, oauth1_credentials, proxy_credentials

ACTOR = "classlink-poll"
OPERATOR_ACTOR = "classlink-poll (operator's district)"
# A connection check needs this much of the invocation left (a check is bounded to about 15 s).
MIN_SECONDS_TO_CONNECT = 20.0


@dataclass
class DiscoveryResult:
    discovered: list[str] = field(default_factory=list)
    connected: list[str] = field(default_factory=list)
    queued_runs: list[str] = field(default_factory=list)
    connection_failed: dict[str, str] = field(default_factory=dict)
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    credentials_rotated: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    # Not reached this poll for lack of time (the next poll does them).
    left_for_next_poll: list[str] = field(default_factory=list)
    # Districts whose handling raised; the others went on (type and message, no payload).
    errors: dict[str, str] = field(default_factory=dict)
    invalid_rows: int = 0
    empty_list_ignored: bool = False


def _pause(stores: Stores, district: District, reason: str) -> None:
    change_state(
        stores,
        district,
        DistrictState.PAUSED.value,
        reason,
        ACTOR,
        kind="paused",
        changes={"sharing_enabled": False},
    )


def _discover(stores: Stores, row: ApplicationRow) -> District | None:
    district = District(
        tenant_id=row.tenant_id,
        name=row.tenant_name or f"Tenant {row.tenant_id}",
        state=DistrictState.CONNECTING.value,
        state_reason="found in the ClassLink Partner API; connecting",
        oneroster_application_id=row.oneroster_application_id,
    )
    if not stores.districts.add(district):
        return None  # another poll created it a moment ago; it connects it
    record_event(
        stores,
        row.tenant_id,
        "discovered",
        ACTOR,
        "the district added and enabled SmartPass in ClassLink",
        None,
        district.state,
    )
    return district


def _needs_connection(district: District, now: datetime) -> bool:
    if district.state == DistrictState.CONNECTING.value:
        return district.onboarding_request is None
    if district.state != DistrictState.ERROR.value:
        return False
    refused = district.connection_ok is False or not district.sharing_enabled
    return (refused or district.first_synced_at is None) and retry_due(district, now)


class _Connector:
    def __init__(
        self, services: OnboardingServices, server: Callable[[str], DirectServer], result: DiscoveryResult
    ) -> None:
        self.services, self.server, self.result = services, server, result

    def credentials(self, row: ApplicationRow) -> SecretValue:
        if row.bearer:
            return proxy_credentials(row.bearer, row.oneroster_application_id)
        # No proxy bearer: the district's own Roster Server, with the OAuth1 key ClassLink gives.
        direct = self.server(row.oneroster_application_id)
        if not direct.complete:
            raise ClassLinkError(
                "ClassLink listed neither a proxy bearer nor a complete direct OAuth1 key for this "
                "district; ask the district for its API credentials (Roster Server, App Overview, API) "
                "and register it by hand"
            )
        return oauth1_credentials(direct)

    def connect(self, district: District, row: ApplicationRow) -> None:
        try:
            credentials = self.credentials(row)
        except ClassLinkError as exc:
            self.result.connection_failed[district.tenant_id] = str(exc)
            connection_failed(district, str(exc), self.services, ACTOR, district.onboarding_request)
            return
        outcome = connect_district(district, credentials, self.services, ACTOR)
        if not outcome.connected:
            self.result.connection_failed[district.tenant_id] = outcome.reason
            return
        self.result.connected.append(district.tenant_id)
        if outcome.queued_run_id:
            self.result.queued_runs.append(outcome.queued_run_id)

    def rotate_if_changed(self, district: District, row: ApplicationRow) -> None:
        if not row.bearer or district.connection_mode != "proxy" or not district.credentials_fingerprint:
            return
        credentials = proxy_credentials(row.bearer, row.oneroster_application_id)
        new_fingerprint = fingerprint(credentials)
        if new_fingerprint == district.credentials_fingerprint:
            return
        assert district.credentials_secret_id is not None
        self.services.write_secret(district.credentials_secret_id, credentials)
        stores = self.services.stores
        stores.districts.update(
            district,
            {
                "credentials_fingerprint": new_fingerprint,
                "oneroster_application_id": row.oneroster_application_id,
            },
        )
        record_event(
            stores,
            district.tenant_id,
            "credentials_rotated",
            ACTOR,
            "ClassLink lists a new proxy bearer; stored",
        )
        self.result.credentials_rotated.append(district.tenant_id)


def reconcile_districts(
    rows: Iterable[ApplicationRow | ValidationError],
    known: Iterable[District],
    services: OnboardingServices,
    server: Callable[[str], DirectServer],
    time_left: Callable[[], float] = lambda: float("inf"),
) -> DiscoveryResult:
    result = DiscoveryResult()
    listed = _rows_by_tenant(rows, result)
    everyone = list(known)
    # An operator's district is theirs to change (and may be absent from the list); the poll
    # only follows up on its queued sync.
    districts = {d.tenant_id: d for d in everyone if d.registration != "operator"}
    connector = _Connector(services, server, result)
    now = utcnow()

    _handle_live_rows(listed, districts, connector, services, now, time_left)
    _follow_up_operator_districts(everyone, services, now, result)
    if _safe_to_pause(listed, districts, result):
        _pause_unlisted_or_disabled(services.stores, listed, districts, result)
    return result


def _rows_by_tenant(
    rows: Iterable[ApplicationRow | ValidationError], result: DiscoveryResult
) -> dict[str, ApplicationRow]:
    """One row per tenant (of two rows for one tenant, the live one counts); rows that failed
    to parse are counted in result.invalid_rows."""
    listed: dict[str, ApplicationRow] = {}
    for row in rows:
        if isinstance(row, ValidationError):
            result.invalid_rows += 1
        elif row.tenant_id not in listed or (row.is_live and not listed[row.tenant_id].is_live):
            listed[row.tenant_id] = row
    return listed


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _handle_live_rows(
    listed: dict[str, ApplicationRow],
    districts: dict[str, District],
    connector: _Connector,
    services: OnboardingServices,
    now: datetime,
    time_left: Callable[[], float],
) -> None:
    result = connector.result
    for tenant_id, row in listed.items():
        if not row.is_live:
            continue
        if time_left() < MIN_SECONDS_TO_CONNECT:
            result.left_for_next_poll.append(tenant_id)
            continue
        # One district's trouble (a throttled write, a refused secret) never stops the others.
        try:
            _one_listed(tenant_id, row, districts.get(tenant_id), connector, services, now)
        except OutOfTime:
            result.left_for_next_poll.append(tenant_id)
        except Exception as exc:
            result.errors[tenant_id] = _error_text(exc)


def _follow_up_operator_districts(
    everyone: list[District], services: OnboardingServices, now: datetime, result: DiscoveryResult
) -> None:
    for district in everyone:
        if district.registration == "operator":
            try:
                _note_follow_up(
                    result, district.tenant_id, follow_up(district, services, now, OPERATOR_ACTOR)
                )
            except Exception as exc:
                result.errors[district.tenant_id] = _error_text(exc)


def _safe_to_pause(
    listed: dict[str, ApplicationRow], districts: dict[str, District], result: DiscoveryResult
) -> bool:
    """False if a row failed to parse (that tenant might be the unparsable row), or if the list
    is empty while districts are connected (ClassLink failing in a success-shaped way; noted
    in result.empty_list_ignored)."""
    if result.invalid_rows:
        return False
    if not listed and any(d.state != DistrictState.PAUSED.value for d in districts.values()):
        result.empty_list_ignored = True
        return False
    return True


def _pause_unlisted_or_disabled(
    stores: Stores, listed: dict[str, ApplicationRow], districts: dict[str, District], result: DiscoveryResult
) -> None:
    for tenant_id, district in districts.items():
        if district.state == DistrictState.PAUSED.value:
            continue
        row_or_none = listed.get(tenant_id)
        try:
            if row_or_none is None:
                _pause(
                    stores,
                    district,
                    "no longer listed by the ClassLink Partner API (app removed or unshared)",
                )
                result.paused.append(tenant_id)
            elif not row_or_none.is_live:
                _pause(stores, district, "the district disabled the app in ClassLink Roster Server")
                result.paused.append(tenant_id)
        except Exception as exc:
            result.errors[tenant_id] = _error_text(exc)


def _note_follow_up(result: DiscoveryResult, tenant_id: str, what: str | None) -> None:
    if what == "resent":
        result.resent.append(tenant_id)
    elif what == "gave_up":
        result.connection_failed[tenant_id] = "the queued sync did not connect the district"


def _one_listed(
    tenant_id: str,
    row: ApplicationRow,
    district: District | None,
    connector: _Connector,
    services: OnboardingServices,
    now: datetime,
) -> None:
    result = connector.result
    stores = services.stores
    if district is None:
        created = _discover(stores, row)
        if created is not None:
            result.discovered.append(tenant_id)
            connector.connect(created, row)
        return
    if row.tenant_name and row.tenant_name != district.name:
        old = district.name
        stores.districts.update(district, {"name": row.tenant_name})
        record_event(
            stores, tenant_id, "renamed", ACTOR, f"renamed in ClassLink from {old!r} to {row.tenant_name!r}"
        )
        result.renamed.append(tenant_id)
    # A district an operator paused stays paused until an operator resumes it.
    paused_by_poll = district.state == DistrictState.PAUSED.value and district.paused_by is None
    if paused_by_poll and change_state(
        stores,
        district,
        DistrictState.CONNECTING.value,
        "sharing re-enabled in ClassLink; connecting again",
        ACTOR,
        kind="resumed",
        # A fresh connection and sync: the request of the last onboarding is done with.
        changes={"oneroster_application_id": row.oneroster_application_id, "onboarding_request": None},
        expect=[equals("state", DistrictState.PAUSED.value), absent("paused_by")],
    ):
        result.resumed.append(tenant_id)
        stores.districts.refresh(district)
    if _needs_connection(district, now):
        connector.connect(district, row)
        return
    connector.rotate_if_changed(district, row)
    _note_follow_up(result, tenant_id, follow_up(district, services, now, ACTOR))
