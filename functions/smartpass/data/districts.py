"""District: one row per ClassLink tenant that shared its roster with us.

Access patterns
- get one district by ClassLink tenant id (SSO: my/info TenantId; sync message; Partner API row)
  -> get(tenant_id)
- every district, to reconcile with the Partner API list and to fan out the nightly sync
  -> scan (hundreds of rows; a scan a night and one per poll is cheaper than a GSI to keep)
"""

from __future__ import annotations

from enum import StrEnum

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from smartpass.data.base import BoundModel, utcnow


class DistrictState(StrEnum):
    CONNECTING = "connecting"
    SYNCING = "syncing"
    ACTIVE = "active"
    HELD = "held"
    PAUSED = "paused"
    ERROR = "error"


class ConnectionMode(StrEnum):
    PROXY = "proxy"  # ClassLink OneRoster proxy + the tenant's bearer (classlink-facts B2.2)
    OAUTH1 = "oauth1"  # the tenant's Roster Server directly, OAuth 1.0a HMAC-SHA256 (B2.1)


DEFAULT_COLLECTIONS = ("terms", "orgs", "users", "classes", "enrollments")


class SyncSettings(MapAttribute):
    # A run that would deactivate more than the larger of this share and this number of a
    # collection's active records deactivates nothing and is held for an operator.
    deactivation_threshold_percent = NumberAttribute(default=10)
    deactivation_threshold_minimum = NumberAttribute(default=50)
    blackout_dates = ListAttribute(of=UnicodeAttribute, default=list)
    collections = ListAttribute(of=UnicodeAttribute, default=lambda: list(DEFAULT_COLLECTIONS))
    # OneRoster role -> SmartPass role, or "" to leave that role out; merged over the defaults
    # (smartpass.sync.collections.DEFAULT_ROLE_MAPPING).
    role_mapping: MapAttribute[str, str] = MapAttribute(default=dict)
    page_size = NumberAttribute(default=10_000)


class RunSummary(MapAttribute):
    run_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    state = UnicodeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    counts: MapAttribute[str, object] = MapAttribute(null=True)


class District(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    state = UnicodeAttribute(default=DistrictState.CONNECTING.value)
    state_reason = UnicodeAttribute(null=True)
    paused_by = UnicodeAttribute(null=True)  # "operator:<name>": the poll never resumes it
    connection_mode = UnicodeAttribute(default=ConnectionMode.PROXY.value)
    # The Secrets Manager id of this district's OneRoster credentials; never the credentials.
    credentials_secret_id = UnicodeAttribute(null=True)
    # Already percent-escaped by ClassLink; used verbatim in proxy paths (classlink-facts C3).
    oneroster_application_id = UnicodeAttribute(null=True)
    sharing_enabled = BooleanAttribute(default=True)
    # Who added the district: "partner-api" (found by the poll) or "operator" (registered by
    # hand with an OAuth1 key the district sent). The poll never pauses an operator's district.
    registration = UnicodeAttribute(default="partner-api")
    # A one-way fingerprint of the credentials last stored (never the credentials): the poll
    # compares it with the Partner API row to notice a rotated bearer without reading secrets.
    credentials_fingerprint = UnicodeAttribute(null=True)
    # False after a connection check or a sync was refused by ClassLink; the poll checks again.
    connection_ok = BooleanAttribute(null=True)
    connect_attempts = NumberAttribute(default=0)  # failed checks in a row (retry pause grows)
    connected_at = UTCDateTimeAttribute(null=True)
    # The sync onboarding queued (initial, or a catch-up after a pause), as its JSON request,
    # so a poll after a crash can send the very same request again (the run id dedupes it).
    onboarding_request = UnicodeAttribute(null=True)
    onboarding_sent_at = UTCDateTimeAttribute(null=True)  # when it was last sent to the queue
    first_synced_at = UTCDateTimeAttribute(null=True)
    # Where the district's reports go (set by an operator); no report e-mail without it.
    contact_email = UnicodeAttribute(null=True)
    sync_settings = SyncSettings(default=SyncSettings)
    last_run = RunSummary(null=True)
    # The per-district sync lease: the run that holds it and until when (conditional writes).
    sync_lease_run_id = UnicodeAttribute(null=True)
    sync_lease_expires_at = UTCDateTimeAttribute(null=True)
    # The fencing token: one more each time the lease passes to another run (never on a renewal).
    # A run stamps it on what it writes, and a write stamped with a larger one is never undone by
    # a run that lost its lease (smartpass.sync.lease).
    sync_lease_fence = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)
    updated_at = UTCDateTimeAttribute(default=utcnow)
    version = VersionAttribute()
