"""Districts with their state, lease and last run: the repository the domain is handed.

`DistrictRepository` is what the domain may ask; `DynamoDistricts` answers it from the
Districts table (PynamoDB). Every update is an UpdateItem of the named attributes only, never
a whole-item put, so concurrent writers of other attributes (the poll, a sync, an operator) do
not undo each other; none uses the item's version (conditions say what must still hold).

A state change and its history event are written together (one TransactWriteItems), so the
history never lacks a change that happened nor tells of one that a condition refused.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from smartpass.data import changes as wire
from smartpass.data.changes import Changes, Expectations
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District
from smartpass.data.pynamodb_internals import model_connection

TRANSACTION_ATTEMPTS = 3  # a transaction that conflicts with another write is tried again


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

    def update(
        self,
        district: District,
        changes: Changes,
        expect: Expectations = (),
        event: DistrictEvent | None = None,
    ) -> bool:
        """Write `changes` (and update the object); False, with nothing written, when an
        expectation does not hold. With `event`, the event is stored in the same transaction:
        both are written or neither."""

    def take_lease(self, district: District, run_id: str, until: datetime, now: datetime) -> bool:
        """Lease the district's sync to `run_id` until `until`, if no other run holds an unexpired
        lease (the same run may renew it). False when another run holds it. A lease that passes
        to another run gets the next fencing token (`sync_lease_fence`, on the object)."""

    def renew_lease(self, district: District, run_id: str, until: datetime) -> bool:
        """Extend the lease `run_id` holds, even if it has expired, as long as no other run has
        taken it since; False when `run_id` no longer holds it."""

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

    def update(
        self,
        district: District,
        changes: Changes,
        expect: Expectations = (),
        event: DistrictEvent | None = None,
    ) -> bool:
        if event is not None:
            return self._update_with_event(district, changes, expect, event)
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

    def _update_with_event(
        self, district: District, changes: Changes, expect: Expectations, event: DistrictEvent
    ) -> bool:
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with TransactWrite(connection=model_connection(District)) as transaction:
                    transaction.update(
                        district,
                        actions=wire.actions(District, changes),
                        condition=wire.condition(District, expect),
                        add_version_condition=False,
                    )
                    transaction.save(event, condition=DistrictEvent.event_id.does_not_exist())
                break
            except TransactWriteError as exc:
                # Reasons come in the order PynamoDB sends the items (puts before updates); the
                # event's own condition (a new id) does not fail, so a failed check is an
                # expectation's. A conflict with another write of the district is tried again.
                canceled = exc.cause_response_code == "TransactionCanceledException"
                codes = {r.code for r in (exc.cancellation_reasons if canceled else []) if r is not None}
                if expect and "ConditionalCheckFailed" in codes:
                    return False
                if "TransactionConflict" not in codes or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        # A transaction returns no item: read the district back, as an update's ALL_NEW would.
        district.refresh(consistent_read=True)
        return True

    def take_lease(self, district: District, run_id: str, until: datetime, now: datetime) -> bool:
        # The object says who held the lease when it was read; try that case first, then the other
        # (a renewal keeps the fencing token, a takeover moves it on).
        if district.sync_lease_run_id == run_id and self.renew_lease(district, run_id, until):
            return True
        free = District.sync_lease_run_id.does_not_exist() | (District.sync_lease_expires_at < now)
        try:
            district.update(
                actions=[
                    District.sync_lease_run_id.set(run_id),
                    District.sync_lease_expires_at.set(until),
                    District.sync_lease_fence.add(1),
                ],
                condition=free,
                add_version_condition=False,
            )
        except UpdateError as exc:
            if not wire.condition_failed(exc):
                raise
            return district.sync_lease_run_id != run_id and self.renew_lease(district, run_id, until)
        return True

    def renew_lease(self, district: District, run_id: str, until: datetime) -> bool:
        try:
            district.update(
                actions=[District.sync_lease_expires_at.set(until)],
                condition=District.sync_lease_run_id == run_id,
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
