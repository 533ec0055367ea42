"""The signing proxy behind `smartpass-ops status-page open`.

The page's routes (/ops/...) sit behind the HTTP API's AWS_IAM authorizer, and a browser cannot
sign requests with AWS credentials. So, like `kubectl proxy`, this runs a small proxy on
127.0.0.1: each request to it is forwarded to the stack's HTTP API signed (SigV4, service
`execute-api`) with the operator's own AWS credentials, the ones the CLI uses for everything
else. Only GET and HEAD of /ops/... are forwarded; nothing else leaves through it.
"""

from __future__ import annotations

import posixpath
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

if TYPE_CHECKING:
    import boto3

PROXIED_PREFIX = "/ops/"
STATUS_PATH = "/ops/status"
UPSTREAM_TIMEOUT_SECONDS = 35  # the API's own limit is 30 s
# Hop-by-hop headers, and those that describe the upstream body as it came (requests has
# already decoded it).
DROPPED_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-encoding",
    "content-length",
    "date",
    "server",
}


class ProxyError(RuntimeError):
    """The proxy cannot start; the message says why in plain words."""


class SigningProxy:
    """Forwards GET/HEAD /ops/... from 127.0.0.1:<port> to `upstream`, signed with the session's
    credentials (read per request, so refreshed credentials are used)."""

    def __init__(self, upstream: str, session: boto3.Session, region: str, port: int = 0) -> None:
        if not upstream:
            raise ProxyError("the stack has no HTTP API URL to open")
        if session.get_credentials() is None:
            raise ProxyError(
                "no AWS credentials found: set AWS_PROFILE (or --profile) to an operator's profile"
            )
        self.upstream = upstream.rstrip("/")
        self.session = session
        self.region = region
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        except OSError as exc:
            raise ProxyError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); try --port 0") from None
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="status-page-proxy", daemon=True
        )

    def start(self) -> SigningProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def allowed_host(self, host: str | None) -> bool:
        # A page on another site that points a name at 127.0.0.1 (DNS rebinding) sends its own
        # name as Host: only requests addressed to this proxy are served.
        return host in (f"127.0.0.1:{self.port}", f"localhost:{self.port}")

    def forward(self, method: str, raw_path: str, accept: str | None) -> requests.Response:
        if not proxied_path(raw_path):
            raise ProxyError("only /ops/... is forwarded")
        # The URL is the upstream's scheme and host with the request's path and query: nothing
        # in the request line can choose where the signed request goes.
        target = urlsplit(raw_path)
        query = f"?{target.query}" if target.query else ""
        prepared = requests.Request(
            method, f"{self.upstream}{target.path}{query}", headers={"Accept": accept or "*/*"}
        ).prepare()
        assert prepared.url is not None
        if urlsplit(prepared.url).netloc != urlsplit(self.upstream).netloc:
            raise ProxyError("the request would leave the stack's HTTP API")
        credentials = self.session.get_credentials()
        if credentials is None:
            raise ProxyError("the AWS credentials are gone (expired profile?)")
        # Sign what will be sent: the URL after requests has encoded it, host and date.
        signed = AWSRequest(method=method, url=prepared.url, headers={"Host": urlsplit(prepared.url).netloc})
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                prepared.headers[name] = signed.headers[name]
        with requests.Session() as http:
            return http.send(prepared, timeout=UPSTREAM_TIMEOUT_SECONDS, allow_redirects=False)


def proxied_path(raw_path: str) -> bool:
    """Only /ops/... and nothing that climbs out of it (`/ops/../sso/session`). The request
    target must be a path: `GET host:/ops/status` or `GET http://other/ops/...` is refused."""
    if not raw_path.startswith("/") or raw_path.startswith("//"):
        return False
    parts = urlsplit(raw_path)
    if parts.scheme or parts.netloc:
        return False
    path = parts.path
    if "%2e" in path.lower() or "\\" in path:
        return False
    return path.startswith(PROXIED_PREFIX) and posixpath.normpath(path) == path.rstrip("/")


def _handler(proxy: SigningProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            if not proxy.allowed_host(self.headers.get("Host")):
                return self._plain(421, "This proxy only answers requests addressed to it.")
            if self.path in ("/", ""):
                return self._redirect(STATUS_PATH)
            if not proxied_path(self.path):
                return self._plain(404, "Only the operator pages (/ops/...) go through this proxy.")
            try:
                upstream = proxy.forward(self.command, self.path, self.headers.get("Accept"))
            except (requests.RequestException, ProxyError) as exc:
                return self._plain(502, f"The stack's HTTP API did not answer ({type(exc).__name__}).")
            body = upstream.content
            self.send_response(upstream.status_code)
            for name, value in upstream.headers.items():
                if name.lower() not in DROPPED_RESPONSE_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _plain(self, status: int, text: str) -> None:
            body = f"{text}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # the page's URLs are all this would print; the terminal stays quiet

    return Handler
