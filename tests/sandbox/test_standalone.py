"""The sandbox on its own, from its documented command, for any OneRoster or OAuth2 client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from classlink_sandbox.__main__ import _parser
from classlink_sandbox.generator import DistrictSpec, generate

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def standalone(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """`python -m classlink_sandbox ARGS` with its ready line; killed if the test did not stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "classlink_sandbox", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no ready line"
        yield process, json.loads(line)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_standalone_sandbox_prints_one_json_line_with_what_clients_need() -> None:
    with standalone("--students", "40", "--districts", "2", "--redirect-uri", "http://127.0.0.1:9/cb") as (
        _,
        ready,
    ):
        assert ready["event"] == "classlink_sandbox_ready"
        assert len(ready["tenants"]) == 2 and ready["oauth_clients"][0]["redirect_uris"] == [
            "http://127.0.0.1:9/cb"
        ]
        assert ready["oauth_client"] == ready["oauth_clients"][0]
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
            params={"limit": "10000"},
            headers={"Authorization": f"Bearer {tenant['bearer']}"},
        )
        assert users.status_code == 200 and users.json()["users"]
        # The ready line counts what /users shares (Unenrolled Users is off), the SIS total apart.
        assert tenant["users"] == len(users.json()["users"]) == int(users.headers["x-total-count"])
        generated = generate(
            DistrictSpec(tenant_id=2001, name="Sandbox District 1", seed=1, students=40, teachers=20)
        )
        assert tenant["users_in_sis"] == len(generated.users()) > tenant["users"]


def test_without_redirect_uri_a_client_is_still_registered_and_the_pages_name_the_option() -> None:
    with standalone("--students", "20", "--teachers", "2") as (process, ready):
        client = ready["oauth_client"]
        assert client["client_id"] and client["client_secret"] and client["redirect_uris"] == []
        assert ready["oauth_clients"] == [client]
        launchpad = ready["launchpad_url"]
        tenant_id = ready["tenants"][0]["tenant_id"]

        # An authorize request with a redirect_uri that is not registered: an error page, no redirect.
        authorize = requests.get(
            f"{launchpad}/oauth2/v2/auth",
            params={
                "client_id": client["client_id"],
                "redirect_uri": "http://127.0.0.1:9/cb",
                "response_type": "code",
                "scope": "openid",
            },
            allow_redirects=False,
            timeout=5,
        )
        assert authorize.status_code == 400 and "Location" not in authorize.headers
        assert "--redirect-uri" in authorize.text and "http://127.0.0.1:9/cb" in authorize.text

        # The LaunchPad tile of a signed-in user: nowhere to send the code, so the same hint.
        browser = requests.Session()
        login = browser.get(f"{launchpad}/login", params={"tenant": tenant_id}, timeout=5)
        sourced_id = login.text.split("name=sourced_id value='", 1)[1].split("'", 1)[0]
        signed_in = browser.post(
            f"{launchpad}/session", data={"tenant": tenant_id, "sourced_id": sourced_id}, timeout=5
        )
        assert "smartpass-tile" in signed_in.text
        tile = browser.post(f"{launchpad}/tile", allow_redirects=False, timeout=5)
        assert tile.status_code == 400 and "Location" not in tile.headers
        assert "App not configured" in tile.text and "--redirect-uri" in tile.text

        # SIGTERM stops it as Ctrl-C does: cleanly, exit code 0 (so `make sandbox` ends without error).
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_client_id_and_secret_can_be_fixed_and_oauth1_only_districts_have_a_null_bearer() -> None:
    with standalone(
        "--students", "20", "--teachers", "2", "--oauth1-only", "--client-id", "cid", "--client-secret", "cs"
    ) as (process, ready):
        assert ready["oauth_client"] == {"client_id": "cid", "client_secret": "cs", "redirect_uris": []}
        [row] = requests.get(
            f"{ready['partner_api_url']}/applications",
            timeout=5,
            headers={"Authorization": f"Bearer {ready['partner_api_key']}"},
        ).json()["applications"]
        assert row["bearer"] is None and ready["tenants"][0]["bearer"] is None
        assert ready["tenants"][0]["oauth1_only"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_help_names_the_documented_command_and_every_option() -> None:
    parser = _parser()
    assert parser.prog == "python -m classlink_sandbox"
    assert parser.format_usage().startswith("usage: python -m classlink_sandbox")
    assert all(action.help for action in parser._actions), [a.dest for a in parser._actions if not a.help]
    shown = subprocess.run(
        [sys.executable, "-m", "classlink_sandbox", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert "__main__.py" not in shown and "--redirect-uri" in shown and "--oauth1-only" in shown
