"""DistrictEvent: what changed a district, when, why and who or what did it.

Every state change (discovered, connected, paused, resumed, synced, held, failed...) and every
change of its connection or name is one item, so an operator can answer "why is this district
paused?" without reading logs. Never a credential: events name what changed, not the values.

Access patterns
- a district's history, newest first -> query(tenant_id, scan_index_forward=False)
- the events since a moment (the local stack's story lines) -> query(tenant_id, event_id > t)
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from smartpass.data.base import BoundModel, utcnow


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
