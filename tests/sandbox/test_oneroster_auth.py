"""OneRoster authentication: OAuth 1.0a direct (classlink-facts B2.1) and the proxy bearer (B2.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import string
import time
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, Client

from classlink_sandbox.changes import apply_change
from classlink_sandbox.server import SandboxServer

PATH = "/ims/oneroster/v1p1/users"


def _oauthlib_get(
    url: str,
    key: str,
    secret: str,
    method: str = SIGNATURE_HMAC_SHA256,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> tuple[str, dict[str, str]]:
    client = Client(key, client_secret=secret, signature_method=method, timestamp=timestamp, nonce=nonce)
    signed_url, headers, _ = client.sign(url, http_method="GET")
    return signed_url, headers


def _classlink_style_header(url: str, params: dict[str, str], key: str, secret: str) -> str:
    """An independent port of ClassLink's request-libraries python/oneroster.py algorithm."""
    timestamp = str(int(time.time()))
    nonce = "".join(random.choices(string.ascii_letters + string.digits, k=len(timestamp)))
    oauth = {
        "oauth_consumer_key": key,
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": timestamp,
        "oauth_nonce": nonce,
    }
    merged = {**params, **oauth}
    joined = "&".join(f"{k}={quote(merged[k], safe='')}" for k in sorted(merged))
    base = "GET&" + quote(url, safe="") + "&" + quote(joined, safe="")
    signature = base64.b64encode(
        hmac.new((quote(secret, safe="") + "&").encode(), base.encode(), hashlib.sha256).digest()
    ).decode()
    oauth["oauth_signature"] = quote(signature, safe="")
    return "OAuth " + ",".join(f'{k}="{v}"' for k, v in oauth.items())


def test_request_signed_by_oauthlib_hmac_sha256_is_accepted(tenant_info: dict[str, Any]) -> None:
    url = f"{tenant_info['endpoint_url']}{PATH}?limit=5&filter=role%3D%27student%27"
    signed_url, headers = _oauthlib_get(url, tenant_info["oauth1_key"], tenant_info["oauth1_secret"])
    response = requests.get(signed_url, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert {u["role"] for u in response.json()["users"]} == {"student"}


def test_request_signed_the_way_classlinks_own_library_signs_is_accepted(tenant_info: dict[str, Any]) -> None:
    url = f"{tenant_info['endpoint_url']}{PATH}"
    params = {"limit": "3", "offset": "0", "filter": "status='active'"}
    header = _classlink_style_header(url, params, tenant_info["oauth1_key"], tenant_info["oauth1_secret"])
    response = requests.get(f"{url}?{urlencode(params)}", headers={"Authorization": header}, timeout=5)
    assert response.status_code == 200, response.text
    assert len(response.json()["users"]) == 3


def test_hmac_sha1_as_psd401_signs_is_accepted(tenant_info: dict[str, Any]) -> None:
    signed_url, headers = _oauthlib_get(
        f"{tenant_info['endpoint_url']}{PATH}?limit=1",
        tenant_info["oauth1_key"],
        tenant_info["oauth1_secret"],
        method=SIGNATURE_HMAC_SHA1,
    )
    assert requests.get(signed_url, headers=headers, timeout=5).status_code == 200


def _assert_refused(response: requests.Response, reason: str) -> None:
    assert response.status_code == 401
    info = response.json()["imsx_StatusInfo"]
    assert info["imsx_codeMajor"] == "failure"
    assert (
        info["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "unauthorisedrequest"
    )
    assert reason in info["imsx_description"]


def test_tampered_query_is_refused(tenant_info: dict[str, Any]) -> None:
    signed_url, headers = _oauthlib_get(
        f"{tenant_info['endpoint_url']}{PATH}?limit=5",
        tenant_info["oauth1_key"],
        tenant_info["oauth1_secret"],
    )
    _assert_refused(
        requests.get(signed_url.replace("limit=5", "limit=10000"), headers=headers, timeout=5),
        "signature does not match",
    )


def test_wrong_secret_unknown_key_and_stale_timestamp_are_refused(tenant_info: dict[str, Any]) -> None:
    url = f"{tenant_info['endpoint_url']}{PATH}"
    wrong_secret = _oauthlib_get(url, tenant_info["oauth1_key"], "not-the-secret")
    _assert_refused(
        requests.get(wrong_secret[0], headers=wrong_secret[1], timeout=5), "signature does not match"
    )
    unknown = _oauthlib_get(url, "unknown-key", tenant_info["oauth1_secret"])
    _assert_refused(requests.get(unknown[0], headers=unknown[1], timeout=5), "unknown consumer key")
    stale = _oauthlib_get(
        url, tenant_info["oauth1_key"], tenant_info["oauth1_secret"], timestamp=str(int(time.time()) - 3600)
    )
    _assert_refused(requests.get(stale[0], headers=stale[1], timeout=5), "outside the accepted window")


def test_replayed_nonce_is_refused(tenant_info: dict[str, Any]) -> None:
    signed_url, headers = _oauthlib_get(
        f"{tenant_info['endpoint_url']}{PATH}", tenant_info["oauth1_key"], tenant_info["oauth1_secret"]
    )
    assert requests.get(signed_url, headers=headers, timeout=5).status_code == 200
    _assert_refused(requests.get(signed_url, headers=headers, timeout=5), "already used")


def test_missing_authorization_is_refused(tenant_info: dict[str, Any]) -> None:
    _assert_refused(
        requests.get(f"{tenant_info['endpoint_url']}{PATH}", timeout=5), "not an OAuth 1.0a header"
    )


def _proxy(tenant_info: dict[str, Any], bearer: str, app_id: str | None = None) -> requests.Response:
    base = tenant_info["proxy_base_url"]
    if app_id is not None:
        base = base.replace(tenant_info["oneroster_application_id"], app_id)
    return requests.get(f"{base}/users?limit=2", headers={"Authorization": f"Bearer {bearer}"}, timeout=5)


def test_proxy_with_the_tenant_bearer_and_the_verbatim_application_id(tenant_info: dict[str, Any]) -> None:
    assert _proxy(tenant_info, tenant_info["bearer"]).status_code == 200
    _assert_refused(_proxy(tenant_info, "wrong"), "invalid bearer")


def test_proxy_application_id_re_encoded_is_not_found(tenant_info: dict[str, Any]) -> None:
    double = quote(tenant_info["oneroster_application_id"], safe="")  # %2F -> %252F
    assert _proxy(tenant_info, tenant_info["bearer"], app_id=double).status_code == 404


@pytest.mark.parametrize("op", ["rotate_bearer", "disable_sharing", "remove_app"])
def test_old_bearer_stops_working_after_rotation_or_unsharing(
    sandbox: SandboxServer, tenant_info: dict[str, Any], op: str
) -> None:
    apply_change(sandbox.world.tenants[3001], {"op": op})
    _assert_refused(_proxy(tenant_info, tenant_info["bearer"]), "invalid bearer")
