"""The sandbox's state: the partner, its OAuth2 client, and each tenant's roster.

Records are stored exactly as ClassLink sends them (strings for booleans, `status` active or
tobedeleted, hrefs to the tenant's own host), so serving a page is slicing, not converting.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from classlink_sandbox.latency import Latency
from classlink_sandbox.paging import Paging
from classlink_sandbox.traffic import Traffic

COLLECTIONS = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")
Record = dict[str, Any]
# One number per Tenant object ever made: a tenant replaced under the same tenant_id starts at
# version 0 again, so query caches key on this, never on tenant_id alone.
_serials = itertools.count(1)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Tenant:
    tenant_id: int
    name: str
    slug: str
    state_name: str = "New Jersey"
    # classlink-facts C3: already percent-escaped; clients must use it verbatim in paths.
    oneroster_application_id: str = ""
    bearer: str = field(default_factory=lambda: str(uuid.uuid4()))
    # C3: ClassLink's documented /applications sample has `"bearer": null`. Such a tenant is
    # reached only directly with OAuth1 (GET /applications/{id}/server gives the endpoint, key and
    # secret); its /applications row says null and the proxy answers 401 for it.
    oauth1_only: bool = False
    oauth1_key: str = field(default_factory=lambda: secrets.token_hex(12))
    oauth1_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    enabled: bool = True
    listed: bool = True  # False once the district removes the app: gone from /applications
    # C3: code.org saw only "Active" live and keeps rows whose value is "Active"; no source names
    # the other values, so the admin changes API (set_tenant_status) accepts any non-empty one.
    tenant_status: str = "Active"
    # The /applications row `id` (C3: the pairing row), fixed when World.add_tenant first sees
    # the tenant, so it never moves when other tenants join or leave. 0 = not yet assigned.
    row_id: int = 0
    # classlink-facts C1: only enrolled users are shared unless the district turns this on.
    share_unenrolled: bool = False
    oneroster_enabled: bool = True  # A5: without OneRoster, my/info SourcedId is empty
    perm_rev: int = 1
    data: dict[str, dict[str, Record]] = field(default_factory=lambda: {c: {} for c in COLLECTIONS})
    # ClassLink's own user ids (my/info UserId, id_token sub), per sourcedId.
    classlink_user_ids: dict[str, int] = field(default_factory=dict)
    version: int = 0  # bumps on every change; caches of sorted/filtered views key on it
    serial: int = field(default_factory=lambda: next(_serials), compare=False)
    # The tenant's own OneRoster base for hrefs (https://<host>/ims/oneroster/v1p1).
    href_base: str = "https://sandbox-vn-v2.rosterserver.com/ims/oneroster/v1p1"
    # How this tenant's server shapes its pages (paging.py); None: the World's default.
    paging: Paging | None = None

    def touch(self) -> None:
        self.version += 1
        self.perm_rev += 1

    def users(self) -> dict[str, Record]:
        return self.data["users"]

    def enrolled_user_ids(self) -> set[str]:
        return {e["user"]["sourcedId"] for e in self.data["enrollments"].values()}

    def shared_user_count(self) -> int:
        """How many users GET /users returns: all of them with the Unenrolled Users toggle on,
        else only those with an enrollment (classlink-facts C1)."""
        if self.share_unenrolled:
            return len(self.users())
        return len(self.enrolled_user_ids() & self.users().keys())

    def proxy_bearer(self) -> str | None:
        """The /applications row's `bearer`: None (JSON null) for an OAuth1-only tenant."""
        return None if self.oauth1_only else self.bearer


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str = "SmartPass"


@dataclass
class World:
    partner_api_key: str = field(default_factory=lambda: "pk_" + secrets.token_hex(16))
    application_id: int = 5701
    application_name: str = "SmartPass Roster Server Connection"
    tenants: dict[int, Tenant] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Serving settings and measures (replace a setting whole: requests read it without the lock).
    paging: Paging = field(default_factory=Paging)  # for tenants without paging of their own
    latency: Latency = field(default_factory=Latency)
    traffic: Traffic = field(default_factory=Traffic)
    _next_row_id: int = 1100

    def add_tenant(self, tenant: Tenant) -> Tenant:
        with self.lock:
            if not tenant.row_id:
                # A replaced tenant keeps its row; a new one gets the next id, never reused.
                previous = self.tenants.get(tenant.tenant_id)
                if previous is not None and previous.row_id:
                    tenant.row_id = previous.row_id
                else:
                    tenant.row_id = self._next_row_id
                    self._next_row_id += 1
            if not tenant.oneroster_application_id:
                # Real ids are base64-ish with / and = escaped (C3 sample "MoYPlyQWmG0%3D").
                raw = f"{tenant.tenant_id}/{secrets.token_urlsafe(6)}="
                tenant.oneroster_application_id = quote(raw, safe="")
            self.tenants[tenant.tenant_id] = tenant
            return tenant

    def paging_of(self, tenant: Tenant) -> Paging:
        return tenant.paging if tenant.paging is not None else self.paging

    def tenant_by_application_id(self, escaped_id: str) -> Tenant | None:
        return next((t for t in self.tenants.values() if t.oneroster_application_id == escaped_id), None)

    def tenant_by_slug(self, slug: str) -> Tenant | None:
        return next((t for t in self.tenants.values() if t.slug == slug), None)

    def register_client(
        self, redirect_uris: list[str], client_id: str | None = None, client_secret: str | None = None
    ) -> OAuthClient:
        client = OAuthClient(
            client_id=client_id or "c" + secrets.token_hex(12),
            client_secret=client_secret or secrets.token_hex(24),
            redirect_uris=list(redirect_uris),
        )
        self.clients[client.client_id] = client
        return client

    def application_rows(self) -> list[Record]:
        """GET /applications rows, shaped as code.org saw them live (C3): tenant_id integer,
        enabled as a string, a district only while it has the app added. Each row's `id` is the
        tenant's own, so it stays the same when another tenant leaves."""
        rows = []
        listed = sorted((t for t in self.tenants.values() if t.listed), key=lambda t: t.tenant_id)
        for tenant in listed:
            rows.append(
                {
                    "id": tenant.row_id,
                    "application_id": self.application_id,
                    "tenant_id": tenant.tenant_id,
                    "tenant_name": tenant.name,
                    "bearer": tenant.proxy_bearer(),
                    "enabled": "true" if tenant.enabled else "false",
                    "tenant_status": tenant.tenant_status,
                    "oneroster_application_id": tenant.oneroster_application_id,
                    "name": self.application_name,
                    "version": "1.1",
                }
            )
        return rows
