"""Onboarding rules that need no AWS: the retry pause, the nightly's hands off a district
onboarding still owns, and what a district admin reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oneroster import AccessRevoked
from smartpass.data.districts import District, DistrictState
from smartpass.onboarding.connect import plain_reason, retry_due
from smartpass.sync.fanout import plan_nightly

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _district(**attributes: object) -> District:
    return District(tenant_id="2001", name="Maple", **attributes)


def test_retries_wait_1_2_4_minutes_and_never_more_than_an_hour_however_many_failures() -> None:
    def due_after(attempts: int, minutes: float) -> bool:
        return retry_due(
            _district(connect_attempts=attempts, updated_at=NOW - timedelta(minutes=minutes)), NOW
        )

    assert due_after(1, 1) and not due_after(1, 0.5)
    assert due_after(3, 4) and not due_after(3, 3.9)
    for attempts in (7, 42, 10_000):  # 2**41 minutes would overflow timedelta
        assert due_after(attempts, 60) and not due_after(attempts, 59)


def test_the_nightly_leaves_a_never_synced_district_in_error_to_onboarding() -> None:
    onboarding = _district(state=DistrictState.ERROR.value, credentials_fingerprint="f")
    requests, skipped = plan_nightly([onboarding], NOW, NOW.date())
    assert requests == [] and skipped == {"2001": "not synced yet; onboarding retries it"}
    synced_before = _district(
        state=DistrictState.ERROR.value, credentials_fingerprint="f", first_synced_at=NOW
    )
    requests, _ = plan_nightly([synced_before], NOW, NOW.date())
    assert [r.tenant_id for r in requests] == ["2001"]


def test_what_a_district_admin_reads_names_no_url_or_application_id() -> None:
    down = plain_reason(ClassLinkError("OneRoster /MoYPlyQWmG0%3D/ims/oneroster/v1p1/orgs answered 503", 503))
    assert down == "ClassLink did not answer SmartPass's test request (HTTP 503); SmartPass will try again"
    assert "Roster Server" in plain_reason(AccessRevoked("401", 401))
