"""DistrictEvent: what changed a district, when, why and who or what did it.

Every state change (discovered, connected, paused, resumed, synced, held, failed...) and every
change of its connection or name is one item, so an operator can answer "why is this district
paused?" without reading logs. Never a credential: events name what changed, not the values.

Access patterns
- a district's history, newest first -> query(tenant_id, scan_index_forward=False)
- the events since a moment (the local stack's story lines) -> query(tenant_id, event_id > t)
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError

from smartpass.data.base import BoundModel, utcnow
from smartpass.data.districts import District


class DistrictEvent(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    tenant_id = UnicodeAttribute(hash_key=True)
    # ISO time first, so the range key sorts by time; a random tail keeps two events of the
    # same millisecond apart.
    event_id = UnicodeAttribute(range_key=True)
    # A short code for what happened: discovered, connected (and its sync queued), connection_failed,
    # state_changed, renamed, credentials_rotated, registered, paused, resumed, report_sent.
    kind = UnicodeAttribute()
    from_state = UnicodeAttribute(null=True)
    to_state = UnicodeAttribute(null=True)
    # Who or what: "classlink-poll", "sync-run:<run id>", "operator:<name>".
    actor = UnicodeAttribute()
    reason = UnicodeAttribute()
    at = UTCDateTimeAttribute(default=utcnow)


def record_event(
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
    event.save()
    return event


def change_state(
    district: District,
    to_state: str,
    reason: str,
    actor: str,
    kind: str = "state_changed",
    extra: Sequence[Any] = (),
    condition: Any = None,
) -> bool:
    """Set the district's state and record the change. With `condition`, only if it holds
    (False when it did not, and nothing is recorded)."""
    from_state = district.state
    actions: list[Any] = [
        District.state.set(to_state),
        District.state_reason.set(reason),
        District.updated_at.set(utcnow()),
        *extra,
    ]
    try:
        district.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    record_event(district.tenant_id, kind, actor, reason, from_state, to_state)
    return True
