"""The sandbox on its own, from its documented command, for any OneRoster or OAuth2 client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def test_standalone_sandbox_prints_one_json_line_with_what_clients_need() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "classlink_sandbox",
            "--students",
            "40",
            "--districts",
            "2",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "classlink_sandbox_ready"
        assert len(ready["tenants"]) == 2 and ready["oauth_clients"][0]["redirect_uris"] == [
            "http://127.0.0.1:9/cb"
        ]
        apps = requests.get(
            f"{ready['partner_api_url']}/applications",
            timeout=5,
            headers={"Authorization": f"Bearer {ready['partner_api_key']}"},
        ).json()
        assert {a["tenant_id"] for a in apps["applications"]} == {t["tenant_id"] for t in ready["tenants"]}
        tenant = ready["tenants"][0]
        users = requests.get(
            f"{tenant['proxy_base_url']}/users",
            timeout=5,
            headers={"Authorization": f"Bearer {tenant['bearer']}"},
        )
        assert users.status_code == 200 and users.json()["users"]
    finally:
        process.terminate()
        process.wait(timeout=10)
