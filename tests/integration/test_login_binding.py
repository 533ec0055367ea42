"""Login codes bound to the client that finished the login (security review finding 1: login
CSRF through the app link). Over HTTP through the local stack: the callback sets the code's cookie
(path /sso/session, HttpOnly, SameSite=Lax, short-lived); a second client with the code but
without the cookie is refused, the browser with it is not; a client that started the login with a
PKCE challenge redeems its code with the verifier instead; CORS lets the app's origin, and only it,
make the credentialed exchange."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import pytest
import requests

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import click_tile, exchange, launchpad_browser, login_code
from tests.integration.sync_helpers import TENANT


@pytest.fixture
def synced(stack: LocalStack) -> None:
    poll(stack)


def _student(sandbox: SandboxServer) -> dict[str, Any]:
    return next(
        u
        for u in sandbox.world.tenants[int(TENANT)].users().values()
        if u["role"] == "student" and u["status"] == "active" and u.get("enabledUser") == "true"
    )


JSON = {"Accept": "application/json"}


def _refused(answer: requests.Response) -> bool:
    return answer.status_code == 400 and answer.json()["error"] == "invalid_login_code"


def test_a_code_is_refused_to_a_client_without_its_cookie_and_accepted_from_the_browser(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    browser = launchpad_browser(stack_sandbox, int(TENANT), _student(stack_sandbox)["sourcedId"])
    code = login_code(click_tile(browser, stack_sandbox))
    victim = requests.Session()  # has the link, not the cookie
    assert _refused(exchange(stack, victim, code))
    forged = requests.Session()
    forged.cookies.set(next(c.name for c in browser.cookies if c.name.startswith("sp_code_")), "guess")
    assert _refused(exchange(stack, forged, code))
    answer = exchange(stack, browser, code)  # the failed tries did not spend it
    assert answer.status_code == 200 and answer.json()["session_token"]


def test_the_codes_cookie_is_http_only_lax_short_lived_and_only_for_the_exchange(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    browser = launchpad_browser(stack_sandbox, int(TENANT), _student(stack_sandbox)["sourcedId"])
    hop = browser.post(f"{stack_sandbox.base_url}/launchpad/tile", allow_redirects=False, timeout=10)
    while "login_code=" not in hop.headers["Location"]:
        hop = browser.get(hop.headers["Location"], allow_redirects=False, timeout=10)
    [cookie] = [c for c in hop.raw.headers.getlist("Set-Cookie") if c.startswith("sp_code_")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert attributes["path"] == "Path=/sso/session" and "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax" and attributes["max-age"] == "Max-Age=60"
    assert "secure" not in attributes  # http on loopback; `Secure` whenever the API is https


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_a_login_started_with_a_pkce_challenge_is_redeemed_with_its_verifier_once(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    assert stack.gateway is not None
    verifier, challenge = _pkce()
    browser = launchpad_browser(stack_sandbox, int(TENANT), _student(stack_sandbox)["sourcedId"])
    landing = browser.get(
        f"{stack.gateway.url}/sso/classlink/launch",
        params={"return_to": "/", "code_challenge": challenge, "code_challenge_method": "S256"},
        timeout=30,
    )
    code = login_code(landing)
    assert not any(c.name.startswith("sp_code_") for c in browser.cookies)  # no cookie: PKCE binds it
    client = requests.Session()  # the app that started the login, wherever it runs

    def redeem(**extra: str) -> requests.Response:
        assert stack.gateway is not None
        body = {"login_code": code, **extra}
        return client.post(f"{stack.gateway.url}/sso/session", json=body, headers=JSON, timeout=10)

    assert _refused(redeem()) and _refused(redeem(code_verifier=secrets.token_urlsafe(48)))
    assert _refused(exchange(stack, browser, code))  # the browser's cookies do not stand in for it
    assert redeem(code_verifier=verifier).status_code == 200
    assert _refused(redeem(code_verifier=verifier))  # once


@pytest.mark.parametrize(
    "params",
    [
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "short", "code_challenge_method": "S256"},
        {"code_challenge_method": "S256"},
    ],
)
def test_a_challenge_that_is_not_s256_is_refused(stack: LocalStack, params: dict[str, str]) -> None:
    assert stack.gateway is not None
    answer = requests.get(
        f"{stack.gateway.url}/sso/classlink/launch", params=params, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_cors_lets_only_the_apps_origin_make_the_credentialed_exchange(stack: LocalStack) -> None:
    assert stack.gateway is not None and stack.app is not None
    url = f"{stack.gateway.url}/sso/session"
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = requests.options(url, headers={"Origin": stack.app.origin, **asked}, timeout=10)
    assert allowed.headers["Access-Control-Allow-Origin"] == stack.app.origin
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    for origin in ("https://evil.example", "null", stack.app.origin + ".evil.example"):
        preflight = requests.options(url, headers={"Origin": origin, **asked}, timeout=10)
        answer = requests.post(url, json={"login_code": "x"}, headers={"Origin": origin}, timeout=10)
        for response in (preflight, answer):
            assert "Access-Control-Allow-Origin" not in response.headers
            assert "Access-Control-Allow-Credentials" not in response.headers
