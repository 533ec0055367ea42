"""Roster records of a district (users, orgs, classes, enrollments, terms), keyed (tenant,
OneRoster sourcedId), one table per kind.

Only what SmartPass uses is stored: never a password, phone, guardian (`agents`) or demographics.
Records are soft-deactivated (`active = False`), never deleted by a sync.

Access patterns
- SSO: find a user by (TenantId, SourcedId) from my/info            -> get(tenant_id, sourced_id)
- SSO fallback: by (TenantId, ClassLink UserId) once seen at login   -> GSI by_classlink_user_id
- sync: every user / org of a district, in sourcedId order, to diff   -> query(tenant_id)
- a school and its users for the app                                  -> query(tenant_id) + filter
- sync: the (sourcedId, hash, active) of every record of a district   -> query(tenant_id), projected

A sync writes a record only when its content hash changes, it returns after a deactivation, or
it is deactivated: `last_written_at` moves then, and never for a record that did not change.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
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
    last_written_at = UTCDateTimeAttribute(default=utcnow)
    # The run that last wrote this record (created, changed, reactivated or deactivated it).
    last_run_id = UnicodeAttribute(null=True)
    # That run's fencing token (District.sync_lease_fence): a run holding a smaller one lost its
    # lease, and its late update of this record is refused.
    sync_fence = NumberAttribute(null=True)
    deactivated_at = UTCDateTimeAttribute(null=True)
    deactivation_reason = UnicodeAttribute(null=True)  # "tobedeleted" or "absent"


class RosterUser(RosterRecord):
    class Meta(RosterRecord.Meta):
        pass

    role = UnicodeAttribute()  # OneRoster role, lowercase (student, teacher, aide, administrator...)
    app_role = UnicodeAttribute()  # SmartPass role from the district's role mapping
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


class RosterClass(RosterRecord):
    class Meta(RosterRecord.Meta):
        pass

    title = UnicodeAttribute()
    school_sourced_id = UnicodeAttribute()
    term_sourced_ids = ListAttribute(of=UnicodeAttribute, default=list)


class RosterEnrollment(RosterRecord):
    class Meta(RosterRecord.Meta):
        pass

    user_sourced_id = UnicodeAttribute()
    class_sourced_id = UnicodeAttribute()
    school_sourced_id = UnicodeAttribute(null=True)
    role = UnicodeAttribute()
    primary = BooleanAttribute(default=False)
    begin_date = UnicodeAttribute(null=True)
    end_date = UnicodeAttribute(null=True)


class RosterTerm(RosterRecord):
    """An academicSession (school year, semester, term, grading period)."""

    class Meta(RosterRecord.Meta):
        pass

    title = UnicodeAttribute()
    session_type = UnicodeAttribute()
    start_date = UnicodeAttribute(null=True)
    end_date = UnicodeAttribute(null=True)
    parent_sourced_id = UnicodeAttribute(null=True)
