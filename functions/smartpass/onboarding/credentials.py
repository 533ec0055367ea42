"""A district's connection as stored in Secrets Manager, and its one-way fingerprint.

The secret's JSON is what smartpass.sync.connection reads. The fingerprint lets the poll notice
a rotated bearer by comparing the Partner API row with the District item, without reading any
secret: it is a keyed-free, one-way digest of random credentials, never the credentials.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from smartpass.classlink.partner_api import DirectServer

SecretValue = dict[str, str]
# Stores the JSON under the name, creating the secret the first time (idempotent).
SecretWriter = Callable[[str, Mapping[str, str]], None]


def proxy_credentials(bearer: str, oneroster_application_id: str) -> SecretValue:
    return {"mode": "proxy", "bearer": bearer, "oneroster_application_id": oneroster_application_id}


def oauth1_credentials(server: DirectServer) -> SecretValue:
    return {
        "mode": "oauth1",
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "endpoint_url": server.endpoint_url.rstrip("/"),
    }


def fingerprint(credentials: Mapping[str, Any]) -> str:
    digest = hashlib.blake2b(
        json.dumps(credentials, sort_keys=True).encode(), digest_size=16, person=b"smartpass-creds"
    )
    return digest.hexdigest()
