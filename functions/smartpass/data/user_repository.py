"""Rostered users as a sign-in and the operators' sign-in check read them, and the link a first
sign-in stores on the record: the repository the SSO is handed. A sync writes users through the
roster store (roster_store.py), never through this one.

- `get_with_district`: the district and the user together, in ONE BatchGetItem over the two
  tables (multi_get.py), on the sign-in's latency-critical path (bench/sso.py);
- `by_classlink_user_id`: the GSI of that name, for a user stored with the ClassLink UserId of an
  earlier sign-in;
- `record_sign_in`: the ClassLink UserId and the time, written only if the record exists and is
  not linked to another ClassLink account (one conditional UpdateItem).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pynamodb.constants import NONE
from pynamodb.exceptions import UpdateError

from smartpass.data import changes as wire
from smartpass.data.districts import District
from smartpass.data.multi_get import ItemKey, get_items
from smartpass.data.pynamodb_internals import table_connection
from smartpass.data.roster import RosterUser


class UserRepository(Protocol):
    def get(self, tenant_id: str, sourced_id: str) -> RosterUser | None:
        """The whole record (an eventually consistent read), or None."""

    def get_with_district(
        self,
        tenant_id: str,
        sourced_id: str,
        district_attributes: Sequence[str],
        user_attributes: Sequence[str],
    ) -> tuple[District | None, RosterUser | None]:
        """The district and one of its users, these attributes of each, in one round trip."""

    def by_classlink_user_id(self, tenant_id: str, classlink_user_id: str) -> list[RosterUser]:
        """The district's users stored with this ClassLink UserId (the GSI, eventually consistent)."""

    def record_sign_in(self, user: RosterUser, classlink_user_id: str, at: datetime) -> bool:
        """Store the ClassLink UserId (never over another one) and the time of this sign-in. False,
        with nothing written, when the record is gone or is linked to another ClassLink account."""


class DynamoUsers:
    def get(self, tenant_id: str, sourced_id: str) -> RosterUser | None:
        try:
            return RosterUser.get(tenant_id, sourced_id)
        except RosterUser.DoesNotExist:
            return None

    def get_with_district(
        self,
        tenant_id: str,
        sourced_id: str,
        district_attributes: Sequence[str],
        user_attributes: Sequence[str],
    ) -> tuple[District | None, RosterUser | None]:
        district, user = get_items(
            [
                ItemKey(District, tenant_id, attributes=district_attributes),
                ItemKey(RosterUser, tenant_id, sourced_id, attributes=user_attributes),
            ]
        )
        return district, user

    def by_classlink_user_id(self, tenant_id: str, classlink_user_id: str) -> list[RosterUser]:
        return list(
            RosterUser.by_classlink_user_id.query(
                tenant_id, RosterUser.classlink_user_id == classlink_user_id
            )
        )

    def record_sign_in(self, user: RosterUser, classlink_user_id: str, at: datetime) -> bool:
        # ReturnValues NONE (PynamoDB's Model.update asks for ALL_NEW): the SSO function's IAM grant
        # lets it write these two attributes of a user and nothing else, which DynamoDB enforces
        # only for an update that returns no other attribute (dynamodb:Attributes).
        try:
            table_connection(RosterUser).update_item(
                user.tenant_id,
                user.sourced_id,
                actions=[
                    RosterUser.classlink_user_id.set(classlink_user_id),
                    RosterUser.last_login_at.set(at),
                ],
                condition=RosterUser.sourced_id.exists()
                & (
                    RosterUser.classlink_user_id.does_not_exist()
                    | (RosterUser.classlink_user_id == classlink_user_id)
                ),
                return_values=NONE,
            )
        except UpdateError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        user.classlink_user_id, user.last_login_at = classlink_user_id, at
        return True
