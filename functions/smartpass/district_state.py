"""A district's state changes, each recorded in its history with who or what made it and why.

Every state change (discovered, connected, paused, resumed, synced, held, failed...) and every
change of its connection or name is one history event, so an operator can answer "why is this
district paused?" without reading logs. Never a credential: events name what changed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from smartpass.data.base import utcnow
from smartpass.data.changes import Changes, Expectations, differs
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState, RunSummary
from smartpass.data.stores import Stores


def record_event(
    stores: Stores,
    tenant_id: str,
    kind: str,
    actor: str,
    reason: str,
    from_state: str | None = None,
    to_state: str | None = None,
) -> DistrictEvent:
    now = utcnow()
    event = DistrictEvent(
        tenant_id=tenant_id,
        event_id=f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{secrets.token_hex(3)}",
        kind=kind,
        actor=actor,
        reason=reason,
        from_state=from_state,
        to_state=to_state,
        at=now,
    )
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
    """Set the district's state (with `changes` in the same write) and record the change. With
    `expect`, only if every expectation holds (False when one did not; nothing is recorded)."""
    from_state = district.state
    written: dict[str, object] = {
        "state": to_state,
        "state_reason": reason,
        "updated_at": utcnow(),
        **(changes or {}),
    }
    if not stores.districts.update(district, written, expect):
        return False
    record_event(stores, district.tenant_id, kind, actor, reason, from_state, to_state)
    return True


def set_district_state(
    stores: Stores,
    district: District,
    state: str,
    reason: str,
    summary: RunSummary | None,
    actor: str,
    changes: Mapping[str, object] | None = None,
) -> None:
    """A sync's (or a hold decision's) state for the district, recorded in its history with
    `actor`, unless onboarding paused it meanwhile (the pause wins: the district removed or
    disabled the app). The last run is recorded either way."""
    if district.state != state or (district.state_reason or "") != reason:
        change_state(
            stores,
            district,
            state,
            reason,
            actor,
            changes=changes,
            expect=[differs("state", DistrictState.PAUSED.value)],
        )
    elif changes:
        stores.districts.update(district, changes)
    if summary is not None:
        stores.districts.update(district, {"last_run": summary})
