"""A person in a real headless Chromium: LaunchPad -> SmartPass tile -> our callback, for a
student signing in and for an admin's Impersonate user (classlink-facts A8, A9)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack

pytestmark = pytest.mark.browser


def _exchange(sandbox: SandboxServer, code: str) -> dict[str, Any]:
    client = next(iter(sandbox.world.clients.values()))
    tokens = requests.post(
        f"{sandbox.base_url}/launchpad/oauth2/v2/token",
        timeout=5,
        data={"code": code, "client_id": client.client_id, "client_secret": client.client_secret},
    )
    assert tokens.status_code == 200, tokens.text
    return jwt.decode(tokens.json()["id_token"], options={"verify_signature": False})


def _landing(page: Any, stack: LocalStack) -> dict[str, str]:
    assert stack.gateway is not None
    url = urlsplit(page.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{stack.gateway.url}/sso/classlink/callback"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def test_student_clicks_the_tile_and_reaches_our_callback_with_a_code_and_no_state(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    tenant = stack_sandbox.world.tenants[2001]
    student = next(u for u in tenant.users().values() if u["role"] == "student")
    page = browser.new_page()
    page.goto(f"{stack_sandbox.base_url}/launchpad/")
    page.click("text=Maple Valley Schools")
    page.click(f"button[data-user='{student['sourcedId']}']")
    assert page.is_visible("#smartpass-tile")
    page.click("#smartpass-tile")
    page.wait_for_load_state()
    query = _landing(page, stack)
    assert set(query) == {"code", "response_type"}  # no state, no PKCE: an unsolicited code
    assert "Sign-in with ClassLink is not switched on yet" in page.content()
    claims = _exchange(stack_sandbox, query["code"])
    assert claims["sub"] == str(tenant.classlink_user_ids[student["sourcedId"]])
    assert claims["classLink_sourcedId"] == student["sourcedId"]
    page.close()


def test_admin_impersonates_a_teacher_and_the_launch_looks_like_the_teacher(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    tenant = stack_sandbox.world.tenants[2001]
    teacher = next(u for u in tenant.users().values() if u["role"] == "teacher")
    page = browser.new_page()
    page.goto(f"{stack_sandbox.base_url}/launchpad/admin?tenant=2001&q={teacher['username']}")
    page.click(f"button[data-user='{teacher['sourcedId']}']")
    assert "You are impersonating" in page.inner_text(".banner")
    page.click("#smartpass-tile")
    page.wait_for_load_state()
    claims = _exchange(stack_sandbox, _landing(page, stack)["code"])
    assert claims["classLink_sourcedId"] == teacher["sourcedId"]
    assert claims["classLink_role"] == "Teacher"
    assert not any("imperson" in key.lower() for key in claims)  # A9: nothing marks it
    page.close()


def test_sign_in_with_classlink_round_trip_carries_our_state_back(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    assert stack.gateway is not None
    page = browser.new_page()
    page.goto(f"{stack.gateway.url}/sso/classlink/launch?return_to=/passes")
    assert page.url.startswith(f"{stack_sandbox.base_url}/launchpad/oauth2/v2/auth?")
    sent_state = parse_qs(urlsplit(page.url).query)["state"][0]
    page.click("#allow")
    page.wait_for_load_state()
    query = _landing(page, stack)
    assert query["state"] == sent_state and query["code"]
    page.close()


def test_user_who_denies_sees_an_explanation(
    browser: Any, stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    assert stack.gateway is not None
    page = browser.new_page()
    page.goto(f"{stack.gateway.url}/sso/classlink/launch")
    page.click("#deny")
    page.wait_for_load_state()
    assert _landing(page, stack)["error"] == "access_denied"
    assert "Sign-in was cancelled" in page.inner_text("h1")
    page.close()
