"""Every way a sign-in must fail, through the real callback: each ends on the right page, with
no login code and no session. Forged id_tokens come from the sandbox's token endpoint acting as
a broken or hostile identity provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from aws_lambda_powertools.utilities import parameters
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.classlink import oidc as oidc_module
from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oidc import MyInfo, OidcClient
from smartpass.data.base import utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.login import LoginCode, LoginState
from smartpass.data.roster import RosterUser
from smartpass.data.stores import dynamo_stores
from smartpass.sso.identity import Refusal, resolve_person
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import click_tile, launchpad_browser, our_launch
from tests.integration.sync_helpers import TENANT
from tests.integration.test_sso import _rostered


def _refused(answer: requests.Response, status: int, title: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.url, answer.text[:300])
    assert title in answer.text and "Reference:" in answer.text
    assert "login_code" not in answer.url
    assert list(LoginCode.scan()) == []  # no login code, so no session


def _student_browser(stack_sandbox: SandboxServer) -> tuple[requests.Session, dict[str, Any]]:
    user = _rostered(stack_sandbox, "student")
    return launchpad_browser(stack_sandbox, int(TENANT), user["sourcedId"]), user


def _callback_url(browser: requests.Session, stack: LocalStack) -> str:
    """Our launch, followed to ClassLink's redirect back to our callback (not yet opened)."""
    assert stack.gateway is not None
    to_classlink = browser.get(f"{stack.gateway.url}/sso/classlink/launch", allow_redirects=False, timeout=10)
    back = browser.get(to_classlink.headers["Location"], allow_redirects=False, timeout=10)
    return str(back.headers["Location"])


@pytest.fixture
def synced(stack: LocalStack) -> None:
    poll(stack)


# ------------------------------------------------------------------ state and code
def test_unknown_state_is_refused(stack: LocalStack) -> None:
    assert stack.gateway is not None
    answer = requests.get(
        f"{stack.gateway.url}/sso/classlink/callback?code=abc&state=never-issued", timeout=10
    )
    _refused(answer, 400, "This sign-in has expired or was already used")


def test_a_reused_state_is_refused(stack: LocalStack, stack_sandbox: SandboxServer, synced: None) -> None:
    browser, _ = _student_browser(stack_sandbox)
    url = _callback_url(browser, stack)
    first = browser.get(url, timeout=10)
    assert "login_code=" in first.url
    for code in LoginCode.scan():  # the first one succeeded; the second must add none
        code.delete()
    _refused(browser.get(url, timeout=10), 400, "This sign-in has expired or was already used")


def test_a_callback_carried_to_another_browser_signs_nobody_in(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    """Login CSRF: an attacker stops at ClassLink's redirect back and sends the URL to a victim.
    The victim's browser lacks the cookie that bound the state to the attacker's browser."""
    attacker, _ = _student_browser(stack_sandbox)
    url = _callback_url(attacker, stack)
    victim = requests.Session()
    _refused(victim.get(url, timeout=10), 400, "This sign-in has expired or was already used")


def test_an_expired_state_is_refused(stack: LocalStack, stack_sandbox: SandboxServer, synced: None) -> None:
    browser, _ = _student_browser(stack_sandbox)
    url = _callback_url(browser, stack)
    state = parse_qs(urlsplit(url).query)["state"][0]
    LoginState.get(state).update(actions=[LoginState.expires_at.set(utcnow() - timedelta(seconds=1))])
    _refused(browser.get(url, timeout=10), 400, "This sign-in has expired or was already used")


def test_a_code_used_once_is_refused_with_another_state(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    browser, _ = _student_browser(stack_sandbox)
    first = _callback_url(browser, stack)
    second = _callback_url(browser, stack)
    assert "login_code=" in browser.get(first, timeout=10).url
    for code in LoginCode.scan():
        code.delete()
    used_code = parse_qs(urlsplit(first).query)["code"][0]
    other_state = parse_qs(urlsplit(second).query)["state"][0]
    base = first.split("?")[0]
    _refused(
        browser.get(base, params={"code": used_code, "state": other_state}, timeout=10),
        400,
        "This sign-in was already used",
    )


def test_the_tiles_code_is_not_exchanged(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    browser, _ = _student_browser(stack_sandbox)
    tile = browser.post(f"{stack_sandbox.base_url}/launchpad/tile", allow_redirects=False, timeout=10)
    browser.get(tile.headers["Location"], allow_redirects=False, timeout=10)  # our callback, no state
    # The tile's code is still unused: we never spent it, so nobody signed in with it.
    client = next(iter(stack_sandbox.world.clients.values()))
    code = parse_qs(urlsplit(tile.headers["Location"]).query)["code"][0]
    exchanged = requests.post(
        f"{stack_sandbox.base_url}/launchpad/oauth2/v2/token",
        data={"code": code, "client_id": client.client_id, "client_secret": client.client_secret},
        timeout=10,
    )
    assert exchanged.status_code == 200 and list(LoginCode.scan()) == []


# ------------------------------------------------------------------ forged id_tokens
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forgeries() -> dict[str, Callable[[dict[str, Any], dict[str, Any], Any], str]]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def resign(claims: dict[str, Any], header: dict[str, Any], key: Any) -> str:
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})

    def hs256_with_public_key(claims: dict[str, Any], header: dict[str, Any], key: Any) -> str:
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": header["kid"]}).encode())
        body = _b64(json.dumps(claims).encode())
        signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    return {
        "unsigned (alg none)": lambda c, h, k: jwt.encode(c, None, algorithm="none"),
        "signed by another key": lambda c, h, k: resign(c, h, other_key),
        "HS256 keyed with the public key": hs256_with_public_key,
        "expired": lambda c, h, k: resign(
            {**c, "exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, h, k
        ),
        "for another audience": lambda c, h, k: resign({**c, "aud": "someone-else"}, h, k),
        "from another issuer": lambda c, h, k: resign({**c, "iss": "https://evil.example"}, h, k),
        "with a wrong nonce": lambda c, h, k: resign({**c, "nonce": "not-ours"}, h, k),
        "with an unknown kid": lambda c, h, k: jwt.encode(
            c, other_key, algorithm="RS256", headers={"kid": "unknown-kid"}
        ),
    }


@pytest.mark.parametrize("forgery", sorted(_forgeries()))
def test_a_forged_id_token_is_refused(
    stack: LocalStack,
    stack_sandbox: SandboxServer,
    synced: None,
    forgery: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = stack_sandbox.app.oidc
    assert provider is not None
    genuine = provider.id_token
    forge = _forgeries()[forgery]

    def forged_id_token(*args: Any, **kwargs: Any) -> str:
        token = genuine(*args, **kwargs)
        claims = jwt.decode(token, options={"verify_signature": False})
        return forge(claims, jwt.get_unverified_header(token), provider.keys[0].private_key)

    monkeypatch.setattr(provider, "id_token", forged_id_token)
    # An unknown kid fetches ClassLink's keys afresh (a kid still unknown after that is a forgery;
    # within seconds of the last fetch, the refusal is a transient one: tests/unit/test_oidc_interop.py).
    monkeypatch.setattr(oidc_module, "JWKS_REFRESH_MIN_SECONDS", 0.0)
    browser, _ = _student_browser(stack_sandbox)
    _refused(our_launch(browser, stack), 400, "This sign-in could not be verified")


# ------------------------------------------------------------------ who may sign in
def test_an_unknown_district_is_refused(stack: LocalStack, stack_sandbox: SandboxServer) -> None:
    student = next(
        u for u in stack_sandbox.world.tenants[int(TENANT)].users().values() if u["role"] == "student"
    )
    browser = launchpad_browser(stack_sandbox, int(TENANT), student["sourcedId"])  # never polled: no District
    _refused(click_tile(browser, stack_sandbox), 403, "Your district is not connected to SmartPass yet")


def test_a_paused_district_is_refused(stack: LocalStack, stack_sandbox: SandboxServer, synced: None) -> None:
    District.get(TENANT).update(actions=[District.state.set(DistrictState.PAUSED.value)])
    browser, _ = _student_browser(stack_sandbox)
    _refused(click_tile(browser, stack_sandbox), 403, "connection is paused")


def test_a_district_not_synced_yet_is_refused(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    District.get(TENANT).update(actions=[District.first_synced_at.remove()])
    browser, _ = _student_browser(stack_sandbox)
    _refused(click_tile(browser, stack_sandbox), 403, "still setting up your district")


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ({"active": False}, "Your SmartPass account is not active"),
        ({"enabled_user": False}, "Your account is disabled"),
        ({"app_role": ""}, "not available for your role"),
    ],
)
def test_a_user_the_roster_does_not_allow_is_refused(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None, change: dict[str, Any], title: str
) -> None:
    browser, user = _student_browser(stack_sandbox)
    stored = RosterUser.get(TENANT, user["sourcedId"])
    stored.update(actions=[getattr(RosterUser, k).set(v) for k, v in change.items()])
    _refused(click_tile(browser, stack_sandbox), 403, title)


def test_a_user_never_rostered_is_refused(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    added = apply_change(tenant, {"op": "add_users", "count": 1, "role": "student"})["added"][0]
    try:
        browser = launchpad_browser(stack_sandbox, int(TENANT), added)
        _refused(click_tile(browser, stack_sandbox), 403, "Your account is not shared with SmartPass")
    finally:
        apply_change(tenant, {"op": "purge", "sourcedIds": [added]})


def test_an_id_token_naming_another_tenant_than_my_info_is_refused(stack: LocalStack, synced: None) -> None:
    info = MyInfo.model_validate({"UserId": 1, "TenantId": int(TENANT), "SourcedId": "x"})
    assert resolve_person(dynamo_stores(), info, {"classLink_tenant_id": 9999}) == Refusal("tenant_mismatch")


def test_an_id_token_naming_another_person_than_my_info_is_refused(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    me, other = _rostered(stack_sandbox, "student"), _rostered(stack_sandbox, "teacher")
    info = MyInfo.model_validate({"UserId": 1, "TenantId": int(TENANT), "SourcedId": me["sourcedId"]})
    claims = {"sub": "1", "classLink_sourcedId": other["sourcedId"]}
    assert resolve_person(dynamo_stores(), info, claims) == Refusal("sourced_id_mismatch")
    assert RosterUser.get(TENANT, me["sourcedId"]).classlink_user_id is None  # nothing recorded


def test_a_user_of_one_district_cannot_claim_another(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    # my/info names the person's own tenant; a rostered sourcedId of another district is not found there.
    user = _rostered(stack_sandbox, "student")
    info = MyInfo.model_validate({"UserId": 1, "TenantId": 2999, "SourcedId": user["sourcedId"]})
    District(tenant_id="2999", name="Other", state="active", first_synced_at=utcnow()).save()
    assert resolve_person(dynamo_stores(), info, {}) == Refusal("user_not_shared")


@pytest.mark.parametrize(
    "return_to",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil",
        "/\t/evil",
        "/?login_code=ATTACKERS",  # the app would read the first login_code: the attacker's
        "/x#fragment",
        "/../admin",
        "/%2e%2e/district/status",  # resolved by the browser outside the app's path
        "/x?login_code=",  # a blank one too: two login_code parameters otherwise
    ],
)
def test_a_return_path_outside_the_app_is_refused(stack: LocalStack, return_to: str) -> None:
    assert stack.gateway is not None
    answer = requests.get(
        f"{stack.gateway.url}/sso/classlink/launch",
        params={"return_to": return_to},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 400 and "not valid" in answer.text and "Location" not in answer.headers
    assert list(LoginState.scan()) == []


def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    stack: LocalStack, stack_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = stack_sandbox.app.oidc
    assert provider is not None
    monkeypatch.setattr(provider, "issuer", "https://evil.example")
    client = OidcClient(
        stack.environment["CLASSLINK_LAUNCHPAD_URL"], stack.environment["CLASSLINK_NODEAPI_URL"]
    )
    with pytest.raises(ClassLinkError, match="another issuer"):
        client.discovery()


def test_a_refusal_is_logged_with_its_reason_tenant_and_the_pages_reference(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None, caplog: pytest.LogCaptureFixture
) -> None:
    District.get(TENANT).update(actions=[District.state.set(DistrictState.PAUSED.value)])
    browser, _ = _student_browser(stack_sandbox)
    page = click_tile(browser, stack_sandbox)
    refusals = [r for r in caplog.records if r.getMessage() == "sign-in refused"]
    assert [(getattr(r, "reason", None), getattr(r, "tenant_id", None)) for r in refusals] == [
        ("district_paused", TENANT)
    ]
    assert f"Reference: {refusals[0].reference}" in page.text  # type: ignore[attr-defined]


def test_every_html_answer_carries_the_security_headers(stack: LocalStack) -> None:
    assert stack.gateway is not None
    refusal = requests.get(
        f"{stack.gateway.url}/sso/classlink/launch", params={"return_to": "//evil"}, timeout=10
    )
    assert stack.app is not None
    app_page = requests.get(f"{stack.app.url}/?login_code=x", timeout=10)
    for page in (refusal, app_page):
        assert page.headers["Content-Type"].startswith("text/html")
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    health = requests.get(f"{stack.gateway.url}/health", timeout=10)
    assert health.headers["X-Content-Type-Options"] == "nosniff"


def test_a_token_endpoint_refusing_our_client_says_so_and_sends_nobody_to_their_district(
    stack: LocalStack, stack_sandbox: SandboxServer, synced: None
) -> None:
    secrets = stack.client("secretsmanager")
    secret_id = stack.environment["SSO_CLIENT_SECRET_ID"]
    genuine = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    secrets.put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({**json.loads(genuine), "client_secret": "rotated-wrong"})
    )
    parameters.clear_caches()
    try:
        browser, _ = _student_browser(stack_sandbox)
        answer = our_launch(browser, stack)
        _refused(answer, 503, "Sign-in with ClassLink is not working right now")
        assert "contact" not in answer.text  # ours to fix, not the district's
    finally:
        secrets.put_secret_value(SecretId=secret_id, SecretString=genuine)
        parameters.clear_caches()
