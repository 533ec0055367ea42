"""Reconcile the Partner API's list of tenants with our District rows.

A live tenant we do not know becomes a District in `connecting`. A known district that is no
longer listed, or listed as disabled, is paused, never deleted. If any row failed to parse we
pause nobody: that tenant might be the unparsable row, and pausing it would stop its sync.
Likewise an empty list while districts are connected is treated as ClassLink failing in a
success-shaped way (prior-art takeaway 5), not as every district leaving at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from smartpass.classlink.partner_api import ApplicationRow
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState


@dataclass
class DiscoveryResult:
    discovered: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    invalid_rows: int = 0
    empty_list_ignored: bool = False


def _pause(district: District, reason: str) -> None:
    district.update(
        actions=[
            District.state.set(DistrictState.PAUSED.value),
            District.state_reason.set(reason),
            District.sharing_enabled.set(False),
            District.updated_at.set(utcnow()),
        ]
    )


def reconcile_districts(
    rows: Iterable[ApplicationRow | ValidationError], known: Iterable[District]
) -> DiscoveryResult:
    result = DiscoveryResult()
    listed: dict[str, ApplicationRow] = {}
    for row in rows:
        if isinstance(row, ValidationError):
            result.invalid_rows += 1
        else:
            listed[row.tenant_id] = row
    districts = {d.tenant_id: d for d in known}

    for tenant_id, row in listed.items():
        district = districts.get(tenant_id)
        if district is None and row.is_live:
            District(
                tenant_id=tenant_id,
                name=row.tenant_name or f"Tenant {tenant_id}",
                state=DistrictState.CONNECTING.value,
                oneroster_application_id=row.oneroster_application_id,
            ).save(condition=District.tenant_id.does_not_exist())
            result.discovered.append(tenant_id)
        elif district is not None and row.is_live and district.state == DistrictState.PAUSED.value:
            district.update(
                actions=[
                    District.state.set(DistrictState.CONNECTING.value),
                    District.state_reason.set("sharing re-enabled in ClassLink"),
                    District.sharing_enabled.set(True),
                    District.oneroster_application_id.set(row.oneroster_application_id),
                    District.updated_at.set(utcnow()),
                ]
            )
            result.resumed.append(tenant_id)

    if result.invalid_rows:
        return result
    if not listed and any(d.state != DistrictState.PAUSED.value for d in districts.values()):
        result.empty_list_ignored = True
        return result
    for tenant_id, district in districts.items():
        if district.state == DistrictState.PAUSED.value:
            continue
        row_or_none = listed.get(tenant_id)
        if row_or_none is None:
            _pause(district, "no longer listed by the ClassLink Partner API (app removed or unshared)")
            result.paused.append(tenant_id)
        elif not row_or_none.is_live:
            _pause(district, "the district disabled the app in ClassLink Roster Server")
            result.paused.append(tenant_id)
    return result
