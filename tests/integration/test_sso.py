"""OneClick SSO through the sandbox: students, teachers and administrators from the LaunchPad
tile (a code and no state), from our own launch, and through Impersonate user, each ending in
the app with a SmartPass session for exactly that rostered user."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.roster import RosterUser
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import (
    click_tile,
    exchange,
    launchpad_browser,
    login_code,
    our_launch,
    session_claims,
)
from tests.integration.sync_helpers import TENANT

ROLES = {"student": "student", "teacher": "teacher", "administrator": "admin"}


def _rostered(sandbox: SandboxServer, role: str) -> dict[str, Any]:
    """A user of that role the sync stored as active."""
    tenant = sandbox.world.tenants[int(TENANT)]
    for user in tenant.users().values():
        if user["role"] == role and user["status"] == "active" and user.get("enabledUser") == "true":
            try:
                if RosterUser.get(TENANT, user["sourcedId"]).active:
                    return user
            except RosterUser.DoesNotExist:
                continue
    raise AssertionError(f"no rostered {role}")


@pytest.fixture
def synced(stack: LocalStack) -> None:
    poll(stack)  # discovered, connected and synced by onboarding


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("entry", ["tile", "our launch", "impersonation"])
def test_a_person_lands_in_the_app_signed_in_as_themselves(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None, role: str, entry: str
) -> None:
    user = _rostered(stack_sandbox, role)
    browser = launchpad_browser(
        stack_sandbox, int(TENANT), user["sourcedId"], impersonate=entry == "impersonation"
    )
    landing = (
        our_launch(browser, stack, "/passes") if entry == "our launch" else click_tile(browser, stack_sandbox)
    )
    assert stack.app is not None
    expected_path = "/app/passes" if entry == "our launch" else "/app/"
    assert landing.url.startswith(f"{stack.app.origin}{expected_path}?login_code=")
    claims = session_claims(stack, login_code(landing), browser)
    assert (claims["tenant_id"], claims["sourced_id"], claims["role"]) == (
        TENANT,
        user["sourcedId"],
        ROLES[role],
    )
    assert claims["school_ids"] == [o["sourcedId"] for o in user["orgs"]]
    stored = RosterUser.get(TENANT, user["sourcedId"])
    assert stored.classlink_user_id == str(
        stack_sandbox.world.tenants[int(TENANT)].classlink_user_ids[user["sourcedId"]]
    )
    assert stored.last_login_at is not None


def test_the_tiles_code_is_never_exchanged_a_fresh_state_bound_login_is_started(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    user = _rostered(stack_sandbox, "student")
    browser = launchpad_browser(stack_sandbox, int(TENANT), user["sourcedId"])
    tile = browser.post(f"{stack_sandbox.base_url}/launchpad/tile", allow_redirects=False, timeout=10)
    callback = browser.get(tile.headers["Location"], allow_redirects=False, timeout=10)
    assert callback.status_code == 302
    location = callback.headers["Location"]
    assert location.startswith(f"{stack_sandbox.base_url}/launchpad/oauth2/v2/auth?")
    assert "state=" in location and "code_challenge=" in location and "nonce=" in location


def test_a_login_code_works_once(stack: LocalStack, stack_sandbox: SandboxServer, synced: None) -> None:
    user = _rostered(stack_sandbox, "teacher")
    browser = launchpad_browser(stack_sandbox, int(TENANT), user["sourcedId"])
    code = login_code(click_tile(browser, stack_sandbox))
    binding = browser.cookies.copy()  # kept, so the second try has everything the first had
    session_claims(stack, code, browser)
    assert not any(c.name.startswith("sp_code_") for c in browser.cookies)  # cleared once used
    browser.cookies.update(binding)
    again = exchange(stack, browser, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_login_code"


def test_public_keys_may_be_cached_a_few_minutes_sessions_never(stack: LocalStack) -> None:
    assert stack.gateway is not None
    keys = requests.get(f"{stack.gateway.url}/.well-known/jwks.json", timeout=10)
    assert keys.status_code == 200
    assert keys.headers["Cache-Control"] == "public, max-age=300"
    assert [k["kty"] for k in keys.json()["keys"]] == ["RSA"]
    assert "d" not in keys.json()["keys"][0]  # the public half only
    refused = requests.post(f"{stack.gateway.url}/sso/session", json={"login_code": "nope"}, timeout=10)
    assert refused.status_code == 400 and refused.headers["Cache-Control"] == "no-store"


def test_sign_in_works_when_the_id_token_has_only_standard_claims(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    """Which classLink_* claims an id_token carries is undocumented (A4): identity comes from
    my/info, so a token with the standard claims alone is enough."""
    answer = requests.post(
        f"{stack_sandbox.base_url}/admin/id-token-claims",
        json={"mode": "standard"},
        headers={"X-Sandbox-Admin": stack_sandbox.world.admin_token},
        timeout=10,
    )
    assert answer.json() == {"mode": "standard"}
    user = _rostered(stack_sandbox, "teacher")
    browser = launchpad_browser(stack_sandbox, int(TENANT), user["sourcedId"])
    landing = click_tile(browser, stack_sandbox)
    assert session_claims(stack, login_code(landing), browser)["sourced_id"] == user["sourcedId"]
