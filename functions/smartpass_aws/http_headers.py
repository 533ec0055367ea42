"""Security headers on every response of our HTTP functions (security review finding 7).

Every response: `X-Content-Type-Options: nosniff`. Every HTML page also gets a
Content-Security-Policy that allows nothing but the page's own inline `<style>` (and `<script>`)
blocks, by their SHA-256, and may not be framed (`frame-ancestors 'none'`, and X-Frame-Options for
browsers that predate it); `Referrer-Policy: no-referrer`, since our pages' URLs can carry a login
code or a district link's token. The policy is computed from the page itself, so a page that
changes its style never needs the policy edited by hand.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
ALWAYS = {"X-Content-Type-Options": "nosniff"}


def _digest(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"


def content_security_policy(html: str, connect_src: str = "'self'") -> str:
    blocks: dict[str, list[str]] = {"style": [], "script": []}
    for kind, block in INLINE.findall(html):
        blocks[kind.lower()].append(_digest(block))
    directives = ["default-src 'none'", "img-src data:", "base-uri 'none'", "form-action 'none'"]
    if blocks["style"]:
        directives.append("style-src " + " ".join(sorted(set(blocks["style"]))))
    if blocks["script"]:
        directives += ["script-src " + " ".join(sorted(set(blocks["script"]))), f"connect-src {connect_src}"]
    directives.append("frame-ancestors 'none'")
    return "; ".join(directives)


def html_headers(html: str, connect_src: str = "'self'") -> dict[str, str]:
    """`connect_src`: where the page's script may send requests (the API's origin for an app
    served from another origin)."""
    return {
        **ALWAYS,
        "Content-Security-Policy": content_security_policy(html, connect_src),
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def secured(response: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway (HTTP API) proxy response with the headers above added (never replacing
    one the route set itself)."""
    headers: dict[str, str] = dict(response.get("headers") or {})
    present = {name.lower() for name in headers}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    body = response.get("body") or ""
    wanted = html_headers(body) if content_type.startswith("text/html") and isinstance(body, str) else ALWAYS
    headers.update({k: v for k, v in wanted.items() if k.lower() not in present})
    return {**response, "headers": headers}
