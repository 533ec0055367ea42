"""Districts with their state, lease and last run: the repository the domain is handed.

`DistrictRepository` is what the domain may ask; `DynamoDistricts` answers it from the
Districts table (PynamoDB). Every update is an UpdateItem of the named attributes only, never
a whole-item put, so concurrent writers of other attributes (the poll, a sync, an operator) do
not undo each other; none uses the item's version (conditions say what must still hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pynamodb.exceptions import PutError, UpdateError

from smartpass.data import changes as wire
from smartpass.data.changes import Changes, Expectations
from smartpass.data.districts import District


class DistrictRepository(Protocol):
    def get(self, tenant_id: str, consistent: bool = True, attributes: Sequence[str] = ()) -> District | None:
        """The district as last written (a consistent read unless asked otherwise), or None; with
        `attributes`, only those (the others as a fresh item has them: defaults or None)."""

    def all(self, consistent: bool = True) -> list[District]:
        """Every district (a scan: hundreds of rows, one page of them per megabyte)."""

    def add(self, district: District) -> bool:
        """Store a new district; False when one with its tenant id exists already."""

    def refresh(self, district: District) -> None:
        """Read the district again into the same object."""

    def update(self, district: District, changes: Changes, expect: Expectations = ()) -> bool:
        """Write `changes` (and update the object); False, with nothing written, when an
        expectation does not hold."""

    def take_lease(self, district: District, run_id: str, until: datetime, now: datetime) -> bool:
        """Lease the district's sync to `run_id` until `until`, if no other run holds an unexpired
        lease (the same run may renew it). False when another run holds it."""

    def release_lease(self, district: District, run_id: str) -> None:
        """Drop the lease if `run_id` still holds it (a lease another run took is left alone)."""


class DynamoDistricts:
    def get(self, tenant_id: str, consistent: bool = True, attributes: Sequence[str] = ()) -> District | None:
        try:
            return District.get(
                tenant_id, consistent_read=consistent, attributes_to_get=list(attributes) or None
            )
        except District.DoesNotExist:
            return None

    def all(self, consistent: bool = True) -> list[District]:
        return list(District.scan(consistent_read=consistent))

    def add(self, district: District) -> bool:
        try:
            district.save(condition=District.tenant_id.does_not_exist())
        except PutError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        return True

    def refresh(self, district: District) -> None:
        district.refresh(consistent_read=True)

    def update(self, district: District, changes: Changes, expect: Expectations = ()) -> bool:
        try:
            district.update(
                actions=wire.actions(District, changes),
                condition=wire.condition(District, expect),
                add_version_condition=False,
            )
        except UpdateError as exc:
            if expect and wire.condition_failed(exc):
                return False
            raise
        return True

    def take_lease(self, district: District, run_id: str, until: datetime, now: datetime) -> bool:
        free = (
            District.sync_lease_run_id.does_not_exist()
            | (District.sync_lease_run_id == run_id)
            | (District.sync_lease_expires_at < now)
        )
        try:
            district.update(
                actions=[District.sync_lease_run_id.set(run_id), District.sync_lease_expires_at.set(until)],
                condition=free,
                add_version_condition=False,
            )
        except UpdateError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        return True

    def release_lease(self, district: District, run_id: str) -> None:
        self.update(
            district,
            {"sync_lease_run_id": None, "sync_lease_expires_at": None},
            [wire.equals("sync_lease_run_id", run_id)],
        )
