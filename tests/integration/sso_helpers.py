"""Helpers for the SSO tests: a browser (requests.Session with cookies) signed in to the sandbox
LaunchPad, the tile and our own launch, and the login code's exchange."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.sso.session import SESSION_AUDIENCE


def launchpad_browser(
    sandbox: SandboxServer, tenant_id: int, sourced_id: str, impersonate: bool = False
) -> requests.Session:
    browser = requests.Session()
    path = "impersonate" if impersonate else "session"
    answer = browser.post(
        f"{sandbox.base_url}/launchpad/{path}",
        data={"tenant": str(tenant_id), "sourced_id": sourced_id},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    return browser


def click_tile(browser: requests.Session, sandbox: SandboxServer) -> requests.Response:
    """The SmartPass tile, followed to wherever it ends (the app page, or a refusal page)."""
    return browser.post(f"{sandbox.base_url}/launchpad/tile", timeout=30)


def our_launch(browser: requests.Session, stack: LocalStack, return_to: str = "/") -> requests.Response:
    assert stack.gateway is not None
    return browser.get(
        f"{stack.gateway.url}/sso/classlink/launch", params={"return_to": return_to}, timeout=30
    )


def login_code(landing: requests.Response) -> str:
    query = parse_qs(urlsplit(landing.url).query)
    assert landing.status_code == 200 and "login_code" in query, (
        landing.status_code,
        landing.url,
        landing.text[:500],
    )
    return query["login_code"][0]


def exchange(stack: LocalStack, browser: requests.Session, code: str) -> requests.Response:
    """`POST /sso/session` as the app does, from the browser that finished the login (it holds the
    cookie the callback set for this code, which requests sends as a browser would)."""
    assert stack.gateway is not None
    return browser.post(
        f"{stack.gateway.url}/sso/session",
        json={"login_code": code},
        headers={"Accept": "application/json"},
        timeout=10,
    )


def session_claims(stack: LocalStack, code: str, browser: requests.Session) -> dict[str, Any]:
    """Exchange the login code as the app does and verify the session against our JWKS."""
    assert stack.gateway is not None
    answer = exchange(stack, browser, code)
    assert answer.status_code == 200, answer.text
    token = answer.json()["session_token"]
    keys = requests.get(f"{stack.gateway.url}/.well-known/jwks.json", timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwt.PyJWKSet.from_dict(keys).keys if k.key_id == kid)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=SESSION_AUDIENCE,
        options={"require": ["exp", "iat", "aud"]},
    )
