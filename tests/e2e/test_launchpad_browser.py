"""A person in a real headless Chromium: LaunchPad -> SmartPass tile -> our callback -> the app,
signed in (classlink-facts A8, A9); an admin's Impersonate user; our own "Sign in with
ClassLink"; and the pages that explain a refusal. A screenshot of each landing is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import launchpad_browser

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screenshots"
TENANT = 2001


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    bind_tables(get_settings())  # the tests read and change District rows as the handlers do


def _user(sandbox: SandboxServer, role: str) -> dict[str, Any]:
    return next(
        u
        for u in sandbox.world.tenants[TENANT].users().values()
        if u["role"] == role and u["status"] == "active" and u.get("enabledUser") == "true"
    )


def _signed_in_as(page: Any, stack: LocalStack, name: str) -> str:
    assert stack.app is not None and stack.gateway is not None
    page.wait_for_selector("#who[data-sourced-id]", timeout=15_000)
    # The app is on an origin of its own (same site): its exchange was a credentialed CORS request.
    assert page.url.startswith(stack.app.url) and not stack.app.url.startswith(stack.gateway.url)
    assert "login_code" not in page.url  # the app drops the spent code from the address bar
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    return str(page.get_attribute("#who", "data-sourced-id"))


def test_student_clicks_the_tile_and_lands_in_the_app_signed_in(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    student = _user(stack_sandbox, "student")
    page = browser.new_page()
    page.goto(f"{stack_sandbox.base_url}/launchpad/")
    page.click("text=Maple Valley Schools")
    page.click(f"button[data-user='{student['sourcedId']}']")
    page.click("#smartpass-tile")
    assert _signed_in_as(page, stack, "tile-student") == student["sourcedId"]
    assert page.get_attribute("#who", "data-role") == "student"
    page.close()


def test_admin_impersonates_a_teacher_and_lands_signed_in_as_the_teacher(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    teacher = _user(stack_sandbox, "teacher")
    page = browser.new_page()
    page.goto(f"{stack_sandbox.base_url}/launchpad/admin?tenant={TENANT}&q={teacher['username']}")
    page.click(f"button[data-user='{teacher['sourcedId']}']")
    assert "You are impersonating" in page.inner_text(".banner")
    page.click("#smartpass-tile")
    assert _signed_in_as(page, stack, "impersonated-teacher") == teacher["sourcedId"]
    assert page.get_attribute("#who", "data-role") == "teacher"
    page.close()


def test_sign_in_with_classlink_keeps_our_state_and_returns_to_the_page_asked_for(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    assert stack.gateway is not None
    teacher = _user(stack_sandbox, "teacher")
    page = browser.new_page()
    page.goto(f"{stack.gateway.url}/sso/classlink/launch?return_to=/passes")
    assert page.url.startswith(f"{stack_sandbox.base_url}/launchpad/oauth2/v2/auth?")
    assert parse_qs(urlsplit(page.url).query)["state"][0]
    page.select_option("select[name=who]", f"{TENANT}:{teacher['sourcedId']}")
    page.click("#allow")
    assert _signed_in_as(page, stack, "own-launch") == teacher["sourcedId"]
    assert urlsplit(page.url).path == "/app/passes"
    page.close()


def test_a_paused_district_shows_a_page_that_says_why_and_what_to_do(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    District.get(str(TENANT)).update(actions=[District.state.set(DistrictState.PAUSED.value)])
    page = browser.new_page()
    page.goto(f"{stack_sandbox.base_url}/launchpad/login?tenant={TENANT}")
    page.click(f"button[data-user='{_user(stack_sandbox, 'student')['sourcedId']}']")
    page.click("#smartpass-tile")
    page.wait_for_load_state()
    assert "connection is paused" in page.inner_text("h1")
    assert "enable the SmartPass app" in page.content() and "Reference:" in page.content()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "refusal-paused.png"))
    page.close()


def test_user_who_denies_sees_an_explanation(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    assert stack.gateway is not None
    page = browser.new_page()
    page.goto(f"{stack.gateway.url}/sso/classlink/launch")
    page.click("#deny")
    page.wait_for_load_state()
    assert "Sign-in was cancelled" in page.inner_text("h1")
    page.close()


def test_a_login_code_link_sent_by_an_attacker_signs_the_victim_in_as_nobody(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    """Login CSRF (security review finding 1): the attacker signs in as themselves, stops at the
    redirect into the app and sends the victim that link. The victim's browser has no cookie for
    the code: it is refused, and the attacker's session is never the victim's."""
    poll(stack)
    attacker = _user(stack_sandbox, "student")
    attackers_browser = launchpad_browser(stack_sandbox, TENANT, attacker["sourcedId"])
    tile = attackers_browser.post(
        f"{stack_sandbox.base_url}/launchpad/tile", allow_redirects=False, timeout=10
    )
    hop = attackers_browser.get(tile.headers["Location"], allow_redirects=False, timeout=10)
    while "login_code=" not in hop.headers["Location"]:  # the tile, its bounce into a bound login...
        hop = attackers_browser.get(hop.headers["Location"], allow_redirects=False, timeout=10)
    link = hop.headers["Location"]
    assert stack.app is not None and link.startswith(stack.app.url)

    victim = browser.new_context()
    page = victim.new_page()
    page.goto(link)
    # (a locator, not wait_for_function: the page's CSP forbids evaluating strings, as it should)
    page.locator("#who", has_text="Sign-in failed").wait_for(timeout=15_000)
    assert page.get_attribute("#who", "data-sourced-id") is None
    victim.close()
