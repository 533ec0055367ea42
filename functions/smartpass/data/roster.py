"""Roster records: users and orgs of a district, keyed (tenant, OneRoster sourcedId).

Only what SmartPass uses is stored: never a password, phone, guardian (`agents`) or demographics.
Records are soft-deactivated (`active = False`), never deleted by a sync.

Access patterns
- SSO: find a user by (TenantId, SourcedId) from my/info            -> get(tenant_id, sourced_id)
- SSO fallback: by (TenantId, ClassLink UserId) once seen at login   -> GSI by_classlink_user_id
- sync: every user / org of a district, in sourcedId order, to diff   -> query(tenant_id)
- a school and its users for the app                                  -> query(tenant_id) + filter
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from smartpass.data.base import BoundModel, utcnow


class ByClassLinkUserId(GlobalSecondaryIndex["RosterUser"]):
    class Meta:
        index_name = "by_classlink_user_id"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    classlink_user_id = UnicodeAttribute(range_key=True)


class RosterRecord(BoundModel):
    """Fields every roster record carries for reconciliation."""

    class Meta(BoundModel.Meta):
        pass

    tenant_id = UnicodeAttribute(hash_key=True)
    sourced_id = UnicodeAttribute(range_key=True)
    active = BooleanAttribute(default=True)
    # Hash of the stored fields as last written; a sync writes only when it changes.
    content_hash = UnicodeAttribute()
    first_seen_at = UTCDateTimeAttribute(default=utcnow)
    last_seen_at = UTCDateTimeAttribute(default=utcnow)
    deactivated_at = UTCDateTimeAttribute(null=True)
    deactivation_reason = UnicodeAttribute(null=True)


class RosterUser(RosterRecord):
    class Meta(RosterRecord.Meta):
        pass

    role = UnicodeAttribute()  # OneRoster role, lowercase (student, teacher, aide, administrator...)
    given_name = UnicodeAttribute()
    family_name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    enabled_user = BooleanAttribute(default=True)
    org_sourced_ids = ListAttribute(of=UnicodeAttribute, default=list)
    grades = ListAttribute(of=UnicodeAttribute, default=list)
    # ClassLink's own user id (my/info UserId), stored at first SSO as a stable login anchor.
    classlink_user_id = UnicodeAttribute(null=True)
    last_login_at = UTCDateTimeAttribute(null=True)

    by_classlink_user_id = ByClassLinkUserId()


class RosterOrg(RosterRecord):
    class Meta(RosterRecord.Meta):
        pass

    name = UnicodeAttribute()
    org_type = UnicodeAttribute()  # district, school, ...
    parent_sourced_id = UnicodeAttribute(null=True)
