"""A district's OneRoster connection, from the JSON of its Secrets Manager secret.

The secret (`<DISTRICT_SECRET_PREFIX><tenant_id>`) holds one of (classlink-facts B2, C3):
  {"mode": "proxy", "bearer": "<uuid>", "oneroster_application_id": "<escaped id>"}
  {"mode": "oauth1", "client_id": "...", "client_secret": "...", "endpoint_url": "https://..."}
The proxy host is ours to configure (CLASSLINK_ONEROSTER_PROXY_URL); a direct endpoint comes
from ClassLink (/applications/{id}/server) and is stored with its key. Values never leave this
module in a log line or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartpass.classlink.oneroster import Connection, OAuth1Connection, ProxyConnection


class ConnectionUnavailable(RuntimeError):
    """The district's connection cannot be read (no secret, or an incomplete one). The message
    names the problem, never a value."""


class BadConnectionSecret(ConnectionUnavailable):
    """The district's secret is missing a field."""


def district_secret_id(prefix: str, tenant_id: str) -> str:
    return f"{prefix}{tenant_id}"


def connection_from_secret(
    secret: Mapping[str, Any], proxy_url: str, application_id: str | None = None
) -> Connection:
    mode = secret.get("mode", "proxy")
    if mode == "proxy":
        app_id = secret.get("oneroster_application_id") or application_id
        if not secret.get("bearer") or not app_id:
            raise BadConnectionSecret("proxy connection secret needs bearer and oneroster_application_id")
        return ProxyConnection(proxy_url=proxy_url, application_id=str(app_id), bearer=str(secret["bearer"]))
    if mode == "oauth1":
        missing = [k for k in ("client_id", "client_secret", "endpoint_url") if not secret.get(k)]
        if missing:
            raise BadConnectionSecret(f"oauth1 connection secret lacks {', '.join(missing)}")
        return OAuth1Connection(
            endpoint_url=str(secret["endpoint_url"]),
            client_id=str(secret["client_id"]),
            client_secret=str(secret["client_secret"]),
        )
    raise BadConnectionSecret("the connection secret's mode is neither proxy nor oauth1")
