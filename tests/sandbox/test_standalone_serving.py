"""The standalone sandbox's paging and latency options, from its documented command."""

from __future__ import annotations

import subprocess
import sys
import time

import requests

from tests.sandbox.test_standalone import REPO, standalone


def test_paging_and_latency_options_shape_every_districts_pages() -> None:
    options = ("--page-cap", "5", "--link-headers", "--no-total-count", "--latency-ms", "150")
    with standalone("--students", "20", "--teachers", "2", "--districts", "2", *options) as (_, ready):
        assert ready["paging"] == {"page_cap": {"*": 5}, "link_headers": True, "total_count": False}
        assert ready["latency"] == {"per_request_ms": 150.0, "per_row_ms": 0.0}
        for tenant in ready["tenants"]:
            started = time.monotonic()
            page = requests.get(
                f"{tenant['proxy_base_url']}/users",
                params={"limit": 100},
                timeout=10,
                headers={"Authorization": f"Bearer {tenant['bearer']}"},
            )
            assert time.monotonic() - started >= 0.15
            assert len(page.json()["users"]) == 5 and page.headers["x-count"] == "5"
            assert "x-total-count" not in page.headers and "offset=5" in page.links["next"]["url"]


def test_bad_paging_options_are_refused() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "classlink_sandbox", "--page-cap", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2 and "--page-cap" in refused.stderr
