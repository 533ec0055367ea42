"""A district administrator in a real headless Chromium: signed in at the sandbox LaunchPad, opens
the district holds page, signs in with ClassLink (no prompt: LaunchPad knows them), sees the
district's held sync and approves it. A screenshot of each page is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from tests.integration.onboarding_helpers import poll
from tests.integration.sync_helpers import TENANT, sync

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screenshots"


@pytest.fixture
def held(stack: LocalStack, stack_sandbox: SandboxServer) -> Iterator[str]:
    """The district onboarded, then a nightly run held: 60 students gone from ClassLink."""
    bind_tables(get_settings())
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    snapshot = {name: {k: dict(v) for k, v in rows.items()} for name, rows in tenant.data.items()}
    try:
        poll(stack)
        students = sorted(sid for sid, u in tenant.users().items() if u["role"] == "student")
        stack_sandbox.change(int(TENANT), {"op": "purge", "sourcedIds": students[:60]})
        sync(stack, kind="nightly", trigger="schedule:held")
        run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
        assert run.state == "held"
        yield run.run_id
    finally:
        tenant.data = snapshot
        tenant.touch()


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_administrator_signs_in_through_launchpad_and_approves_the_held_run(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer, held: str
) -> None:
    assert stack.gateway is not None
    admin = next(
        u
        for u in stack_sandbox.world.tenants[int(TENANT)].users().values()
        if u["role"] == "administrator" and u.get("enabledUser") == "true"
    )
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{stack_sandbox.base_url}/launchpad/")
    page.click("text=Maple Valley Schools")
    page.click(f"button[data-user='{admin['sourcedId']}']")
    page.wait_for_selector("#smartpass-tile")  # signed in to LaunchPad

    page.goto(f"{stack.gateway.url}/district/holds")
    assert "Sign in with ClassLink" in page.inner_text("#sign-in")
    _shot(page, "district-holds-sign-in")
    page.click("#sign-in-with-classlink")
    page.wait_for_selector(f"section.held-run[data-run-id='{held}']", timeout=15_000)
    assert page.url == f"{stack.gateway.url}/district/holds"
    assert "active users would be deactivated" in page.inner_text("section.held-run")
    assert "Signed in as" in page.inner_text("header")
    _shot(page, "district-holds-held-run")

    page.click(f"section.held-run[data-run-id='{held}'] button.approve")
    page.wait_for_selector("#decided[data-decision='approve']", timeout=30_000)
    assert "Approved." in page.inner_text("#decided")
    _shot(page, "district-holds-approved")
    context.close()

    run = SyncRun.get(TENANT, held)
    assert run.state == "approved"
    name = f"{admin['givenName']} {admin['familyName']}"
    assert run.decided_by == f"{name} ({admin['sourcedId']}), district administrator via ClassLink"
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    decided = [e for e in DistrictEvent.query(TENANT) if e.kind == "hold_approved"]
    assert [e.actor for e in decided] == [f"district-admin:{admin['sourcedId']}"]
