"""Runs the sandbox app on a loopback port in a background thread."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from classlink_sandbox.app import SandboxApp, tenant_summary
from classlink_sandbox.changes import apply_change
from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.world import World


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # request lines would drown the logs
        pass


@dataclass
class SandboxServer:
    world: World = field(default_factory=World)
    host: str = "127.0.0.1"
    port: int = 0
    app: SandboxApp = field(init=False)
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.app = SandboxApp(self.world)

    @property
    def base_url(self) -> str:
        return self.app.base_url

    def start(self) -> SandboxServer:
        server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        self._server = server
        self.app.set_base_url(f"http://{self.host}:{server.server_port}")
        self._thread = threading.Thread(
            target=functools.partial(server.serve_forever, poll_interval=0.05),
            name="classlink-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def add_district(self, spec: DistrictSpec) -> dict[str, Any]:
        """Generate and add a district (also while serving; POST /admin/tenants does the same).
        DistrictSpec(enabled=False) or (listed=False) adds it disabled or unlisted."""
        return tenant_summary(self.app.add_district(spec), self.base_url)

    def change(self, tenant_id: int, change: dict[str, Any]) -> dict[str, Any]:
        """Apply one change op (changes.py), e.g. {"op": "enable_sharing"}, as the admin API does."""
        with self.world.lock:
            return apply_change(self.world.tenants[tenant_id], change)

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "partner_api_url": f"{self.base_url}/partner",
            "oneroster_proxy_url": f"{self.base_url}/partner",
            "launchpad_url": f"{self.base_url}/launchpad",
            "nodeapi_url": f"{self.base_url}/nodeapi",
            "partner_api_key": self.world.partner_api_key,
            "admin_token": self.world.admin_token,
            "oauth_clients": [
                {"client_id": c.client_id, "client_secret": c.client_secret, "redirect_uris": c.redirect_uris}
                for c in self.world.clients.values()
            ],
            "tenants": [tenant_summary(t, self.base_url) for t in self.world.tenants.values()],
            "paging": self.world.paging.as_json(),
            "latency": self.world.latency.as_json(),
        }
