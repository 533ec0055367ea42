"""A district's state changes, each recorded in its history with who or what made it and why.

Every state change (discovered, connected, paused, resumed, synced, held, failed...) and every
change of its connection or name is one history event, so an operator can answer "why is this
district paused?" without reading logs. Never a credential: events name what changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from smartpass.data.base import utcnow
from smartpass.data.changes import Changes, Expectations, differs, equals, present
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState, RunSummary
from smartpass.data.stores import Stores


def new_event(
    tenant_id: str,
    kind: str,
    actor: str,
    reason: str,
    from_state: str | None = None,
    to_state: str | None = None,
) -> DistrictEvent:
    now = utcnow()
    return DistrictEvent(
        tenant_id=tenant_id,
        event_id=f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{secrets.token_hex(3)}",
        kind=kind,
        actor=actor,
        reason=reason,
        from_state=from_state,
        to_state=to_state,
        at=now,
    )


def record_event(
    stores: Stores,
    tenant_id: str,
    kind: str,
    actor: str,
    reason: str,
    from_state: str | None = None,
    to_state: str | None = None,
) -> DistrictEvent:
    """An event that goes with no state change (a report sent, settings changed...)."""
    event = new_event(tenant_id, kind, actor, reason, from_state, to_state)
    stores.history.add(event)
    return event


def change_state(
    stores: Stores,
    district: District,
    to_state: str,
    reason: str,
    actor: str,
    kind: str = "state_changed",
    changes: Changes | None = None,
    expect: Expectations = (),
) -> bool:
    """Set the district's state (with `changes` in the same write) and record the change in its
    history, in one transaction. With `expect`, only if every expectation holds (False when one
    did not: neither the state nor the event is written)."""
    from_state = district.state
    written: dict[str, object] = {
        "state": to_state,
        "state_reason": reason,
        "updated_at": utcnow(),
        **(changes or {}),
    }
    event = new_event(district.tenant_id, kind, actor, reason, from_state, to_state)
    return stores.districts.update(district, written, expect, event=event)


def set_district_state(
    stores: Stores,
    district: District,
    state: str,
    reason: str,
    summary: RunSummary | None,
    actor: str,
    changes: Mapping[str, object] | None = None,
    lease_run_id: str | None = None,
) -> bool:
    """A sync's (or a hold decision's) state for the district, with the last run, recorded in
    its history with `actor`, unless onboarding paused it meanwhile (the pause wins: the district
    removed or disabled the app; the last run is still recorded). With `lease_run_id`, only while
    that run holds the district's lease: a run that lost it to another changes nothing. Returns
    whether the state was written (False: paused, leased to another run, or gone)."""
    fenced = [present("tenant_id")]  # never an UpdateItem that creates a removed district
    if lease_run_id is not None:
        fenced.append(equals("sync_lease_run_id", lease_run_id))
    not_paused = [differs("state", DistrictState.PAUSED.value), *fenced]
    last_run = {"last_run": summary} if summary is not None else {}
    written = {**(changes or {}), **last_run}
    if district.state != state or (district.state_reason or "") != reason:
        if change_state(stores, district, state, reason, actor, changes=written, expect=not_paused):
            return True
    elif not written or stores.districts.update(district, written, not_paused):
        return True
    if last_run:
        stores.districts.update(district, last_run, fenced)
    return False
