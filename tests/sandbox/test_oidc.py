"""OAuth2 / OIDC and nodeapi as classlink-facts A1-A6 describe them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from classlink_sandbox import oidc as oidc_module
from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer

REDIRECT = "http://127.0.0.1:9/callback"


def _student(sandbox: SandboxServer) -> dict[str, Any]:
    return next(u for u in sandbox.world.tenants[3001].users().values() if u["role"] == "student")


def _authorize(sandbox: SandboxServer, decision: str = "allow", **extra: str) -> dict[str, str]:
    user = _student(sandbox)
    form = {
        "client_id": "test-client",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile",
        "who": f"3001:{user['sourcedId']}",
        "decision": decision,
        **extra,
    }
    response = requests.post(
        f"{sandbox.base_url}/launchpad/oauth2/v2/auth", data=form, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _token(sandbox: SandboxServer, code: str, basic: bool = False, **extra: str) -> requests.Response:
    secret = sandbox.world.clients["test-client"].client_secret
    url = f"{sandbox.base_url}/launchpad/oauth2/v2/token"
    if basic:
        return requests.post(url, data={"code": code, **extra}, auth=("test-client", secret), timeout=5)
    return requests.post(
        url, data={"code": code, "client_id": "test-client", "client_secret": secret, **extra}, timeout=5
    )


def test_discovery_document(sandbox: SandboxServer) -> None:
    doc = requests.get(f"{sandbox.base_url}/launchpad/.well-known/openid-configuration", timeout=5).json()
    assert doc["issuer"] == f"{sandbox.base_url}/launchpad"
    assert doc["jwks_uri"].endswith("/oauth2/v2/jwks")
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_post", "client_secret_basic"]
    assert "code_challenge_methods_supported" not in doc
    assert {"classLink_tenant_id", "classLink_sourcedId"} <= set(doc["claims_supported"])


def test_code_flow_with_state_then_client_secret_post(sandbox: SandboxServer) -> None:
    redirect = _authorize(sandbox, state="xyz", nonce="n-1")
    assert redirect["state"] == "xyz" and redirect["response_type"] == "code"
    response = _token(sandbox, redirect["code"])  # no grant_type, as ClassLink's own libraries (A3)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["response_type"] == "code"
    assert set(body) == {"access_token", "token_type", "response_type", "id_token"}


def test_id_token_verifies_with_pyjwt_against_the_jwks(sandbox: SandboxServer) -> None:
    redirect = _authorize(sandbox, nonce="n-2")
    id_token = _token(sandbox, redirect["code"], basic=True, grant_type="authorization_code").json()[
        "id_token"
    ]
    jwks = jwt.PyJWKClient(f"{sandbox.base_url}/launchpad/oauth2/v2/jwks")
    key = jwks.get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience="test-client",
        issuer=f"{sandbox.base_url}/launchpad",
    )
    user = _student(sandbox)
    tenant = sandbox.world.tenants[3001]
    assert claims["sub"] == str(tenant.classlink_user_ids[user["sourcedId"]])
    assert claims["nonce"] == "n-2"
    assert claims["exp"] - claims["iat"] == 86_400
    assert claims["classLink_tenant_id"] == 3001 and claims["classLink_tenant_id_string"] == "3001"
    assert claims["classLink_sourcedId"] == user["sourcedId"]
    assert claims["profile"] == "Student" and claims["classLink_role_level"] == 4
    assert claims["address"]["locality"] == "Oak Ridge District"


def test_code_is_single_use(sandbox: SandboxServer) -> None:
    code = _authorize(sandbox)["code"]
    assert _token(sandbox, code).status_code == 200
    again = _token(sandbox, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_code_expires_after_five_minutes(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _authorize(sandbox)["code"]
    real_time = oidc_module.time.time
    monkeypatch.setattr(oidc_module.time, "time", lambda: real_time() + 301)
    assert _token(sandbox, code).json()["error"] == "invalid_grant"


def test_wrong_client_secret_and_wrong_redirect_uri(sandbox: SandboxServer) -> None:
    code = _authorize(sandbox)["code"]
    bad = requests.post(
        f"{sandbox.base_url}/launchpad/oauth2/v2/token",
        data={"code": code, "client_id": "test-client", "client_secret": "nope"},
        timeout=5,
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    mismatch = _token(sandbox, _authorize(sandbox)["code"], redirect_uri="http://127.0.0.1:9/other")
    assert mismatch.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_is_never_redirected_to(sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{sandbox.base_url}/launchpad/oauth2/v2/auth",
        allow_redirects=False,
        timeout=5,
        params={
            "client_id": "test-client",
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": "profile",
        },
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_access_denied(sandbox: SandboxServer) -> None:
    assert _authorize(sandbox, decision="deny") == {"error": "access_denied"}


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_pkce_checked_when_sent_optional_by_default_and_enforceable(sandbox: SandboxServer) -> None:
    verifier = "v" * 50
    pkce = {"code_challenge": _challenge(verifier), "code_challenge_method": "S256"}
    assert _token(sandbox, _authorize(sandbox, **pkce)["code"], code_verifier=verifier).status_code == 200
    wrong = _token(sandbox, _authorize(sandbox, **pkce)["code"], code_verifier="w" * 50)
    assert wrong.json()["error"] == "invalid_grant"
    assert _token(sandbox, _authorize(sandbox, **pkce)["code"]).status_code == 200  # A6/E3: not enforced
    sandbox.app.oidc.pkce_mode = "required"  # type: ignore[union-attr]
    assert _token(sandbox, _authorize(sandbox, **pkce)["code"]).json()["error"] == "invalid_grant"


def test_my_info_fields_and_types(sandbox: SandboxServer) -> None:
    token = _token(sandbox, _authorize(sandbox)["code"]).json()["access_token"]
    info = requests.get(
        f"{sandbox.base_url}/nodeapi/v2/my/info", timeout=5, headers={"Authorization": f"Bearer {token}"}
    ).json()
    user = _student(sandbox)
    assert isinstance(info["UserId"], int) and isinstance(info["TenantId"], int)
    assert info["TenantId"] == 3001 and info["SourcedId"] == user["sourcedId"]
    assert info["Role"] == "Student" and info["Role_Level"] == 4
    assert info["Tenant"] == "Oak Ridge District" and isinstance(info["OrgId"], list)
    assert {"FirstName", "LastName", "Email", "LoginId", "DisplayName", "Building", "Profile"} <= set(info)


def test_my_info_needs_a_valid_token(sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{sandbox.base_url}/nodeapi/v2/my/info", timeout=5, headers={"Authorization": "Bearer forged"}
    )
    assert response.status_code == 401


def test_tenant_without_oneroster_has_an_empty_sourced_id(sandbox: SandboxServer) -> None:
    sandbox.world.tenants[3001].oneroster_enabled = False
    token = _token(sandbox, _authorize(sandbox)["code"]).json()["access_token"]
    info = requests.get(
        f"{sandbox.base_url}/nodeapi/v2/my/info", timeout=5, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert info["SourcedId"] == ""


def test_key_rotation_keeps_old_tokens_verifiable_until_the_old_key_is_retired(
    sandbox: SandboxServer,
) -> None:
    jwks_url = f"{sandbox.base_url}/launchpad/oauth2/v2/jwks"
    old_token = _token(sandbox, _authorize(sandbox)["code"]).json()["id_token"]
    admin = {"X-Sandbox-Admin": sandbox.world.admin_token}
    new_kid = requests.post(
        f"{sandbox.base_url}/admin/keys/rotate", json={}, headers=admin, timeout=5
    ).json()["kid"]
    new_token = _token(sandbox, _authorize(sandbox)["code"]).json()["id_token"]
    assert (
        jwt.get_unverified_header(new_token)["kid"] == new_kid != jwt.get_unverified_header(old_token)["kid"]
    )
    for token in (old_token, new_token):
        key = jwt.PyJWKClient(jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
        jwt.decode(token, key.key, algorithms=["RS256"], audience="test-client")
    requests.post(
        f"{sandbox.base_url}/admin/keys/rotate", json={"retire_old": True}, headers=admin, timeout=5
    )
    with pytest.raises(jwt.PyJWKClientError):
        jwt.PyJWKClient(jwks_url, cache_keys=False).get_signing_key_from_jwt(old_token)


def test_a_user_purged_after_sign_in_gets_no_tokens_and_no_my_info(sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    token = _token(sandbox, _authorize(sandbox)["code"]).json()["access_token"]
    pending_code = _authorize(sandbox)["code"]
    apply_change(tenant, {"op": "purge", "sourcedIds": [_student(sandbox)["sourcedId"]]})
    assert _token(sandbox, pending_code).json()["error"] == "invalid_grant"
    info = requests.get(
        f"{sandbox.base_url}/nodeapi/v2/my/info", timeout=5, headers={"Authorization": f"Bearer {token}"}
    )
    assert info.status_code == 401 and info.json()["error"] == "invalid_token"
