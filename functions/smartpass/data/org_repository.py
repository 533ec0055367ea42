"""Rostered orgs (schools) as the operators' views read them: the repository they are handed. A
sync writes orgs through the roster store (roster_store.py), never through this one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smartpass.data.roster import RosterOrg


class OrgRepository(Protocol):
    def names(self, tenant_id: str, sourced_ids: Sequence[str]) -> dict[str, str]:
        """sourcedId -> name of those of these orgs the roster has (BatchGetItem, 100 keys a
        request; no request for no ids)."""

    def types(self, tenant_id: str, sourced_ids: Sequence[str]) -> dict[str, str]:
        """sourcedId -> OneRoster org type (district, school...) of those the roster has."""


class DynamoOrgs:
    def names(self, tenant_id: str, sourced_ids: Sequence[str]) -> dict[str, str]:
        if not sourced_ids:
            return {}
        keys = [(tenant_id, sourced_id) for sourced_id in sourced_ids]
        return {
            org.sourced_id: org.name
            for org in RosterOrg.batch_get(keys, attributes_to_get=["sourced_id", "name"])
        }

    def types(self, tenant_id: str, sourced_ids: Sequence[str]) -> dict[str, str]:
        if not sourced_ids:
            return {}
        keys = [(tenant_id, sourced_id) for sourced_id in sourced_ids]
        return {
            org.sourced_id: org.org_type
            for org in RosterOrg.batch_get(keys, attributes_to_get=["sourced_id", "org_type"])
        }
