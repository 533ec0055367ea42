"""`smartpass-ops status-page open`: the local signing proxy in front of the IAM-protected
status page, against the local stack (whose gateway checks SigV4 as API Gateway does)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local_stack.stack import LocalStack
from smartpass_ops.signing_proxy import SigningProxy
from smartpass_ops.target import from_ready_file
from tests.integration.onboarding_helpers import poll
from tests.ops.conftest import Ops

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxy(stack: LocalStack, ready_file: Path) -> Iterator[SigningProxy]:
    target = from_ready_file(ready_file)
    assert target.session.region_name is not None
    running = SigningProxy(target.http_api_url, target.session, target.session.region_name).start()
    yield running
    running.stop()


def _raw_get(proxy: SigningProxy, path: str, host: str | None = None) -> tuple[int, str]:
    """A request exactly as written (no client-side path clean-up), with any Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host or f"127.0.0.1:{proxy.port}")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body


def test_the_proxy_signs_requests_so_the_iam_protected_page_opens(
    stack: LocalStack, proxy: SigningProxy
) -> None:
    poll(stack)
    assert stack.gateway is not None
    assert requests.get(f"{stack.gateway.url}/ops/status.json", timeout=10).status_code == 403  # unsigned
    data = requests.get(f"{proxy.url}/ops/status.json", timeout=30)
    assert data.status_code == 200
    assert [d["tenant_id"] for d in data.json()["districts"]] == ["2001"]
    page = requests.get(f"{proxy.url}/", timeout=30)  # the root leads to the page
    assert page.status_code == 200 and page.url == f"{proxy.url}/ops/status"
    assert "Maple Valley Schools" in page.text and "<svg" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/sso/classlink/launch",
        "/district/status?token=x",
        "/ops/../sso/classlink/launch",
        "/ops/%2e%2e/health",
        # A request target that is not a path must not choose where the signed request goes.
        "a.evil.example:/ops/status",
        "http://evil.example/ops/status",
        "//evil.example/ops/status",
    ],
)
def test_only_operator_pages_go_through_the_proxy(stack: LocalStack, proxy: SigningProxy, path: str) -> None:
    status, body = _raw_get(proxy, path)
    assert status == 404 and "/ops/" in body
    assert all(sum(f.stats.values()) == 0 for f in stack.functions.values())  # nothing was forwarded


def test_a_request_addressed_to_another_host_name_is_refused(stack: LocalStack, proxy: SigningProxy) -> None:
    # A web page that points its own name at 127.0.0.1 (DNS rebinding) must not read the page.
    status, _ = _raw_get(proxy, "/ops/status.json", host=f"attacker.example:{proxy.port}")
    assert status == 421
    assert sum(stack.functions["OperatorConsoleFunction"].stats.values()) == 0


def test_a_port_in_use_is_said_in_plain_words(ops: Ops) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = ops("status-page", "open", "--port", str(busy.getsockname()[1]), "--no-browser")
    assert result.exit_code == 1
    assert "cannot listen on 127.0.0.1" in result.stderr and "--port 0" in result.stderr


def test_the_command_prints_a_local_url_that_serves_the_page(stack: LocalStack, ready_file: Path) -> None:
    command = [sys.executable, "-m", "smartpass_ops", "--ready-file", str(ready_file)]
    command += ["status-page", "open", "--port", "0", "--no-browser"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("functions", "infra", "tools")),
    }
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    watchdog = threading.Timer(60, process.kill)  # a command that never prints must not hang the run
    watchdog.start()
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("http://127.0.0.1:"):
                url = line.strip()
                break
        assert url.endswith("/ops/status"), process.stderr.read() if process.stderr else ""
        page = requests.get(url, timeout=30)
        assert page.status_code == 200 and "SmartPass ClassLink status" in page.text
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(timeout=10)
