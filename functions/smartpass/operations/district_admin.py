"""An operator's actions on a district: pause, resume, change its sync settings. Each one is
recorded in the district's history with the actor "operator:<name>".

- An operator's pause sticks: the District item remembers who paused it (`paused_by`), and the
  ClassLink poll resumes only the districts it paused itself (onboarding/discovery.py).
- Resume returns the district to service the way the poll's resume does: `connecting`, then the
  stored connection is checked with one OneRoster call and a catch-up `manual` sync is queued
  (an `initial` one if it was never synced), by onboarding's own connect_district.
- Settings are validated here, in plain words, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from smartpass.data.changes import absent, equals
from smartpass.data.districts import District, DistrictState, SyncSettings
from smartpass.data.stores import Stores
from smartpass.district_state import change_state, record_event
from smartpass.onboarding.connect import (
    ConnectOutcome,
    OnboardingServices,
    connect_district,
    connection_failed,
)
from smartpass.onboarding.credentials import SecretValue
from smartpass.operations.overview import SettingsView, settings_view
from smartpass.sync.collections import COLLECTIONS, DEFAULT_ROLE_MAPPING

SMARTPASS_ROLES = frozenset({"student", "teacher", "staff", "admin", ""})  # "" leaves the role out
REQUIRED_COLLECTIONS = frozenset({"orgs", "users"})  # sign-in needs the user and their school
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_BLACKOUT_DATES = 366


class AdminError(ValueError):
    """The action cannot be done; the message says why in plain words."""


@dataclass(frozen=True)
class ResumeOutcome:
    tenant_id: str
    state: str  # the district's state after the resume
    message: str
    queued_run_id: str | None = None


def _district(stores: Stores, tenant_id: str) -> District:
    district = stores.districts.get(tenant_id)
    if district is None:
        raise AdminError(f"no district with tenant id {tenant_id}")
    return district


def pause_district(stores: Stores, tenant_id: str, operator: str, reason: str) -> None:
    """Pause the district: no sync runs (nightly, manual or onboarding) until an operator
    resumes it. Already paused by the poll, it is now also the operator's to resume."""
    reason = reason.strip()
    if not reason:
        raise AdminError("say why the district is paused (--reason): its history keeps it")
    actor = f"operator:{operator}"
    district = _district(stores, tenant_id)
    if district.paused_by is not None and district.state == DistrictState.PAUSED.value:
        raise AdminError(f"{district.name} is already paused by {district.paused_by}")
    changed = change_state(
        stores,
        district,
        DistrictState.PAUSED.value,
        f"paused by {actor}: {reason}",
        actor,
        kind="paused",
        changes={"paused_by": actor},
        expect=[absent("paused_by")],
    )
    if not changed:
        raise AdminError(f"{district.name} was paused by someone else a moment ago")


def resume_district(
    tenant_id: str,
    operator: str,
    services: OnboardingServices,
    read_secret: Callable[[str], SecretValue] | None = None,
) -> ResumeOutcome:
    actor = f"operator:{operator}"
    stores = services.stores
    district = _district(stores, tenant_id)
    if district.state != DistrictState.PAUSED.value:
        raise AdminError(f"{district.name} is {district.state}, not paused")
    resumed = change_state(
        stores,
        district,
        DistrictState.CONNECTING.value,
        f"resumed by {actor}; connecting again",
        actor,
        kind="resumed",
        # As the poll's resume: a fresh connection check and sync; the last onboarding's
        # request is done with.
        changes={"paused_by": None, "onboarding_request": None},
        expect=[equals("state", DistrictState.PAUSED.value)],
    )
    if not resumed:
        raise AdminError(f"{district.name} changed state a moment ago; look again")
    stores.districts.refresh(district)
    if not district.credentials_secret_id:
        if district.registration == "operator":
            message = "no stored connection: register the district again with its OAuth1 key"
        else:
            message = "no stored connection yet: the next ClassLink poll connects it"
        return ResumeOutcome(tenant_id, district.state, message)
    try:
        credentials = (read_secret or services.read_secret)(district.credentials_secret_id)
    except Exception as exc:  # a missing or unreadable secret is the district's connection problem
        reason = f"SmartPass's stored connection for this district cannot be read ({type(exc).__name__})"
        outcome: ConnectOutcome = connection_failed(district, reason, services, actor)
    else:
        outcome = connect_district(district, credentials, services, actor)
    stores.districts.refresh(district)
    return ResumeOutcome(tenant_id, district.state, outcome.reason, outcome.queued_run_id)


def change_settings(
    stores: Stores,
    tenant_id: str,
    operator: str,
    *,
    threshold_percent: float | None = None,
    threshold_minimum: int | None = None,
    blackout_dates: Iterable[str] | None = None,
    collections: Iterable[str] | None = None,
    role_mapping: Mapping[str, str] | None = None,
    reset_role_mapping: bool = False,
) -> SettingsView:
    """Change what is given, keep the rest. Blackout dates and collections replace the current
    lists; role mapping entries are merged over the district's current overrides (an entry equal
    to the default drops the override; `reset_role_mapping` drops them all first). Returns the
    settings as saved."""
    district = _district(stores, tenant_id)
    current = district.sync_settings or SyncSettings()
    old = settings_view(current)
    percent, minimum = old.threshold_percent, old.threshold_minimum
    if threshold_percent is not None:
        if not 0 < threshold_percent <= 100:
            raise AdminError(
                "the threshold is a share of a collection's active records: above 0, at most 100 (%)"
            )
        percent = threshold_percent
    if threshold_minimum is not None:
        if threshold_minimum < 0:
            raise AdminError("the minimum threshold is a number of records, 0 or more")
        minimum = threshold_minimum
    overrides = {} if reset_role_mapping else dict(old.role_mapping)
    if role_mapping is not None:
        overrides.update(_roles(role_mapping))
    fields: dict[str, Any] = {
        "deactivation_threshold_percent": percent,
        "deactivation_threshold_minimum": minimum,
        "blackout_dates": list(old.blackout_dates) if blackout_dates is None else _dates(blackout_dates),
        "collections": list(old.collections) if collections is None else _collections(collections),
        "role_mapping": {k: v for k, v in sorted(overrides.items()) if DEFAULT_ROLE_MAPPING.get(k) != v},
        "page_size": old.page_size,
    }
    new = SyncSettings(**fields)
    saved = settings_view(new)
    changes = _describe(old, saved)
    if not changes:
        return old
    stores.districts.update(district, {"sync_settings": new})
    record_event(stores, tenant_id, "settings_changed", f"operator:{operator}", "; ".join(changes))
    return saved


def _dates(values: Iterable[str]) -> list[str]:
    dates: set[str] = set()
    for value in values:
        text = value.strip()
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError
            date.fromisoformat(text)
        except ValueError:
            raise AdminError(f"{value!r} is not a date as YYYY-MM-DD (a district's local date)") from None
        dates.add(text)
    if len(dates) > MAX_BLACKOUT_DATES:
        raise AdminError(f"at most {MAX_BLACKOUT_DATES} blackout dates")
    return sorted(dates)


def _collections(values: Iterable[str]) -> list[str]:
    wanted = {v.strip().lower() for v in values if v.strip()}
    unknown = wanted - set(COLLECTIONS)
    if unknown:
        raise AdminError(
            f"unknown collection {', '.join(sorted(unknown))}: choose from {', '.join(COLLECTIONS)}"
        )
    missing = REQUIRED_COLLECTIONS - wanted
    if missing:
        raise AdminError(f"{' and '.join(sorted(missing))} are always synced: sign-in needs them")
    return [name for name in COLLECTIONS if name in wanted]  # in the order the sync pulls them


def _roles(pairs: Mapping[str, str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for classlink, smartpass in pairs.items():
        key, value = classlink.strip().lower(), smartpass.strip().lower()
        if key not in DEFAULT_ROLE_MAPPING:
            raise AdminError(
                f"{classlink!r} is not a OneRoster role: choose from {', '.join(DEFAULT_ROLE_MAPPING)}"
            )
        if value not in SMARTPASS_ROLES:
            raise AdminError(
                f"{smartpass!r} is not a SmartPass role: student, teacher, staff, admin, or empty to leave "
                f"{key} out"
            )
        if key in ("guardian", "parent", "relative") and value:
            raise AdminError(f"{key}s are never synced: SmartPass must not hold their data")
        roles[key] = value
    return roles


def _describe(old: SettingsView, new: SettingsView) -> list[str]:
    changes = []
    if (old.threshold_percent, old.threshold_minimum) != (new.threshold_percent, new.threshold_minimum):
        changes.append(
            f"threshold {old.threshold_percent:g}% (min {old.threshold_minimum}) -> "
            f"{new.threshold_percent:g}% (min {new.threshold_minimum})"
        )
    if old.blackout_dates != new.blackout_dates:
        changes.append(f"blackout dates: {', '.join(new.blackout_dates) or 'none'}")
    if old.collections != new.collections:
        changes.append(f"collections: {', '.join(new.collections)}")
    if dict(old.role_mapping) != dict(new.role_mapping):
        shown = ", ".join(f"{k}={v or '(left out)'}" for k, v in new.role_mapping.items())
        changes.append(f"role mapping overrides: {shown or 'none (defaults)'}")
    return changes


def plain_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """`classlink=smartpass` pairs (as typed on a command line) as a mapping."""
    mapping: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise AdminError(
                f"{pair!r} is not CLASSLINK_ROLE=SMARTPASS_ROLE (e.g. aide=teacher, or aide= to leave out)"
            )
        key, value = pair.split("=", 1)
        mapping[key] = value
    return mapping
