"""Connecting a district: store its credentials, prove them with one cheap OneRoster call,
queue its first sync. Safe to repeat and to run twice at once.

- One secret per district (`<prefix><tenant_id>`), written with create-or-put: a second poll
  or a retry after a crash overwrites the same secret, never makes another.
- The check uses the credentials in hand, not the secret read back (Secrets Manager is
  eventually consistent), with its own short retry policy so one slow district cannot eat the
  poll's time.
- The sync is queued by a compare-and-set of `District.onboarding_request` on the value this
  poll read: of two overlapping polls only one queues. Its run id derives from the request, so
  a poll that finds the request stored but never run sends the very same request again, and the
  worker dedupes it. A request whose run ended without connecting the district (or never ran)
  sends the district to `error`, where the retry rules apply.
- A failed check leaves the district in `error` with the reason in plain words; later polls
  try again with a growing pause (1, 2, 4... up to 60 minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oneroster import AccessRevoked, OutOfTime
from smartpass.data.base import utcnow
from smartpass.data.changes import Expect, Increment, differs, equals
from smartpass.data.districts import District, DistrictState
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncKind, SyncState
from smartpass.district_state import change_state, record_event
from smartpass.onboarding.credentials import SecretValue, SecretWriter, fingerprint
from smartpass.sync.connection import ConnectionUnavailable, district_secret_id
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncRequest

# A stored request whose run has not appeared after this long is sent again (the worker
# dedupes it by run id if the first one was only slow to arrive), at most this often.
RESEND_AFTER = timedelta(minutes=15)
# A run that has not finished this long after it was queued (its messages went to the DLQ, or
# it waits for a lease that will not come) no longer counts as the district's onboarding.
ONBOARDING_GIVES_UP_AFTER = timedelta(hours=2)
MAX_RETRY_PAUSE_MINUTES = 60


@dataclass
class OnboardingServices:
    """What onboarding needs from outside the domain; the handler builds it."""

    stores: Stores
    secret_prefix: str
    write_secret: SecretWriter
    # One cheap OneRoster call with these credentials; raises on failure.
    verify: Callable[[District, SecretValue], None]
    send: Callable[[SyncRequest], None]
    notify: Callable[[Report], None] = lambda report: None  # to operators (the operator topic)
    # The district's stored connection (never printed or logged): an operator's resume checks it.
    read_secret: Callable[[str], SecretValue] = lambda secret_id: _no_secret_reader(secret_id)


def _no_secret_reader(secret_id: str) -> SecretValue:
    raise LookupError(f"no way to read {secret_id} was given")


@dataclass
class ConnectOutcome:
    tenant_id: str
    connected: bool
    reason: str
    queued_run_id: str | None = None


def retry_due(district: District, now: datetime) -> bool:
    """Whether a district in `error` may be tried again: after 1, 2, 4... minutes, at most 60."""
    attempts = int(district.connect_attempts or 0)
    pause_minutes = min(2 ** min(max(attempts - 1, 0), 6), MAX_RETRY_PAUSE_MINUTES)
    return district.updated_at is None or now - district.updated_at >= timedelta(minutes=pause_minutes)


def plain_reason(exc: Exception) -> str:
    """What a district admin can read: no URL, application id or secret name."""
    if isinstance(exc, AccessRevoked):
        return (
            "ClassLink refused SmartPass's credentials for this district; check that the SmartPass "
            "app is still added and enabled in ClassLink Roster Server"
        )
    if isinstance(exc, ConnectionUnavailable):
        return "SmartPass's stored connection for this district is incomplete; SmartPass will store it again"
    if isinstance(exc, ClassLinkError):
        status = f" (HTTP {exc.status})" if exc.status else ""
        return f"ClassLink did not answer SmartPass's test request{status}; SmartPass will try again"
    return f"the connection check stopped on an unexpected {type(exc).__name__}; SmartPass will try again"


def _guard(previous: str | None) -> list[Expect]:
    """The condition that this poll's view of the district still holds."""
    return [equals("onboarding_request", previous), differs("state", DistrictState.PAUSED.value)]


def connection_failed(
    district: District,
    reason: str,
    services: OnboardingServices,
    actor: str,
    previous: str | None = None,
) -> ConnectOutcome:
    """The district goes to `error` with the reason, unless another poll moved it on meanwhile;
    operators hear of it on the first failure in a row (later polls retry quietly, with a
    growing pause)."""
    first = not district.connect_attempts
    changed = change_state(
        services.stores,
        district,
        DistrictState.ERROR.value,
        reason,
        actor,
        kind="connection_failed",
        changes={"connection_ok": False, "connect_attempts": Increment(1)},
        expect=_guard(previous),
    )
    if changed and first:
        services.notify(
            Report(
                subject=f"SmartPass cannot connect to ClassLink: {district.name}"[:100],
                text=(
                    f"SmartPass could not connect to ClassLink for {district.name} "
                    f"(ClassLink tenant {district.tenant_id}): {reason}.\n\n"
                    "Nothing was synced. SmartPass tries again on later polls, after 1, 2, 4... up to "
                    "60 minutes. If it keeps failing, check with the district that the SmartPass app is "
                    "added and enabled in ClassLink Roster Server."
                ),
                attributes={"event": "connection_failed", "tenant_id": district.tenant_id},
            )
        )
        record_event(
            services.stores,
            district.tenant_id,
            "report_sent",
            actor,
            "connection failure reported to operators",
        )
    return ConnectOutcome(district.tenant_id, False, reason)


def connect_district(
    district: District, credentials: SecretValue, services: OnboardingServices, actor: str
) -> ConnectOutcome:
    # As this poll read it, before any write of ours refreshes the item: the compare-and-set
    # below must fail if another poll queued a sync since.
    previous = district.onboarding_request
    try:
        services.verify(district, credentials)
    except OutOfTime:
        raise  # not the district's fault: the next poll tries it, nothing is recorded
    except Exception as exc:  # every other failure is reported in words and retried later
        return connection_failed(district, plain_reason(exc), services, actor, previous)

    secret_id = district_secret_id(services.secret_prefix, district.tenant_id)
    services.write_secret(secret_id, credentials)
    now = utcnow()
    kind = SyncKind.INITIAL if district.first_synced_at is None else SyncKind.MANUAL
    request = SyncRequest(
        tenant_id=district.tenant_id,
        kind=kind,
        trigger="onboarding" if kind is SyncKind.INITIAL else "sharing-resumed",
        requested_at=now,
    )
    reason = (
        f"ClassLink answered a test request with the district's {credentials['mode']} credentials; "
        f"{'initial' if kind is SyncKind.INITIAL else 'catch-up'} sync queued"
    )
    changes: dict[str, object] = {
        "credentials_secret_id": secret_id,
        "connection_mode": credentials["mode"],
        "credentials_fingerprint": fingerprint(credentials),
        "onboarding_request": request.model_dump_json(),
        "onboarding_sent_at": now,
        "connection_ok": True,
        "connected_at": now,
        "sharing_enabled": True,
    }
    if district.state == DistrictState.ERROR.value:
        # A retry from `error` counts, so a district whose first sync keeps failing is tried
        # after a growing pause; a successful sync sets it back to 0.
        changes["connect_attempts"] = Increment(1)
    queued = change_state(
        services.stores,
        district,
        DistrictState.CONNECTING.value,
        reason,
        actor,
        kind="connected",
        changes=changes,
        # The compare-and-set that makes two overlapping polls queue one sync.
        expect=_guard(previous),
    )
    if not queued:
        return ConnectOutcome(district.tenant_id, True, "another poll queued this district's sync")
    services.send(request)
    return ConnectOutcome(district.tenant_id, True, reason, request.resolved_run_id())


def follow_up(district: District, services: OnboardingServices, now: datetime, actor: str) -> str | None:
    """For a district still `connecting` with a queued request: send it again if its run never
    appeared (a crash between the compare-and-set and the send, or a lost message), at most
    every RESEND_AFTER; give up on it (to `error`, where the retry rules apply) if its run ended
    without connecting the district or never finished. Returns what it did."""
    if district.state != DistrictState.CONNECTING.value or not district.onboarding_request:
        return None
    request = SyncRequest.model_validate_json(district.onboarding_request)
    run = services.stores.runs.get(district.tenant_id, request.resolved_run_id())
    too_old = now - request.requested_at > ONBOARDING_GIVES_UP_AFTER
    # Failed or skipped; a run that succeeded or was held moves the district on by itself.
    ended = run is not None and run.state in (SyncState.FAILED.value, SyncState.SKIPPED.value)
    if ended or (too_old and district.sync_lease_run_id is None):
        why = f"the queued sync {'ended' if ended else 'did not finish'} without connecting the district"
        change_state(
            services.stores,
            district,
            DistrictState.ERROR.value,
            f"{why}; SmartPass will try again",
            actor,
            kind="connection_failed",
            changes={"connection_ok": False},
            expect=[equals("onboarding_request", district.onboarding_request)],
        )
        return "gave_up"
    sent_at = district.onboarding_sent_at or request.requested_at
    if run is None and now - sent_at >= RESEND_AFTER:
        services.send(request)
        services.stores.districts.update(district, {"onboarding_sent_at": now})
        return "resent"
    return None
