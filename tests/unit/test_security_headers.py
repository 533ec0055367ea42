"""Security headers (security review finding 7): every HTML page gets a CSP that allows only its
own inline blocks and no framing, no referrer, nosniff; other responses get nosniff."""

from __future__ import annotations

import base64
import hashlib

from smartpass.sso import pages
from smartpass_aws.http_headers import content_security_policy, secured


def _sha(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


def test_a_refusal_page_gets_every_header_and_a_policy_that_allows_only_its_own_style() -> None:
    html = pages.render(pages.refusal_page("user_not_found"), "ref-1")
    response = secured({"statusCode": 403, "headers": {"Content-Type": "text/html"}, "body": html})
    headers = response["headers"]
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert f"style-src {_sha(style)}" in policy
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_a_script_is_allowed_by_its_hash_only() -> None:
    policy = content_security_policy("<style>a{}</style><script>go()</script>")
    assert f"script-src {_sha('go()')}" in policy and "connect-src 'self'" in policy


def test_json_gets_nosniff_and_a_header_a_route_set_is_kept() -> None:
    response = secured(
        {"statusCode": 200, "headers": {"Content-Type": "application/json", "X-Frame-Options": "SAMEORIGIN"}}
    )
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response["headers"]
    assert response["headers"]["X-Frame-Options"] == "SAMEORIGIN"
