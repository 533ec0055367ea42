"""The README's run command in --once mode, as a separate process, exactly as CI and a person
checking an install run it."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from local_stack.template import load_template, resources_of_type

REPO = Path(__file__).resolve().parents[2]


def test_local_stack_once_creates_everything_delivers_each_event_kind_and_exits_0(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    done = subprocess.run(
        [sys.executable, "-m", "local_stack", "--once", "--students", "50", "--ready-file", str(ready_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr[-3000:]
    ready, story, summary = lines[0], lines[1:-1], lines[-1]
    assert (ready["event"], summary["event"]) == ("local_stack_ready", "local_stack_summary")
    # the story between them: the district found, connected, synced and reported, in that order
    told = [line["event"] for line in story]
    steps = [
        "district_discovered",
        "district_connected",
        "sync_started",
        "sync_finished",
        "findings",
        "report_sent",
    ]
    assert [told.index(step) for step in steps] == sorted(told.index(step) for step in steps)
    assert summary["synced"]["2001"]["students"] == 50
    assert ready["http_api_url"].startswith("http://127.0.0.1:")
    assert ready["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert ready["classlink_sandbox"]["tenants"][0]["tenant_id"] == 2001
    assert summary["ok"] is True and all(summary["checks"].values())
    declared = resources_of_type(load_template(), "AWS::DynamoDB::Table")
    assert len(summary["tables"]) == len(declared) == 12
    kinds = {kind.split(":")[0] for stats in summary["invocations"].values() for kind in stats}
    assert kinds == {"schedule", "sns", "sqs", "http"}
    # Function logs go to stderr (CloudWatch's place); they never carry the partner key.
    assert ready["classlink_sandbox"]["partner_api_key"] not in done.stderr
    # Routes that count nothing (/health, the login code's exchange) publish no empty metrics.
    assert "No application metrics to publish" not in done.stderr
    # The report names the district's status link, but stdout shows no token.
    report = next(line for line in story if line["event"] == "report_sent")
    assert "/district/status?token=<token>" in report["message"]
    assert "token=ey" not in done.stdout
    assert not ready_file.exists()  # the CLI's ready file goes with the stack


@contextmanager
def other_classlink(tmp_path: Path, *options: str) -> Iterator[tuple[dict[str, Any], Path]]:
    """A second sandbox process standing in for another ClassLink, and the config file an
    operator would write for it: its ready line and the file's path."""
    other = subprocess.Popen(
        [sys.executable, "-m", "classlink_sandbox", *options],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert other.stdout is not None
        info = json.loads(other.stdout.readline())
        config = {
            key: info[key]
            for key in ("partner_api_url", "oneroster_proxy_url", "launchpad_url", "nodeapi_url")
        }
        config |= {
            "partner_api_key": info["partner_api_key"],
            "sso_client_id": info["oauth_client"]["client_id"],
            "sso_client_secret": info["oauth_client"]["client_secret"],
        }
        path = tmp_path / "classlink.json"
        path.write_text(json.dumps(config))
        yield info, path
    finally:
        other.terminate()
        other.wait(timeout=30)


def test_local_stack_runs_against_another_classlink_from_a_config_file(tmp_path: Path) -> None:
    """A second sandbox process stands in for another ClassLink; its districts are OAuth1-only
    (no proxy bearer), so the stack must find their endpoints through /applications/{id}/server."""
    with other_classlink(tmp_path, "--students", "40", "--oauth1-only") as (info, path):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "local_stack",
                "--once",
                "--classlink-config",
                str(path),
                "--ready-file",
                str(tmp_path / "ready.json"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr[-3000:]
    ready, summary = lines[0], lines[-1]
    assert ready["classlink"]["source"] == str(path)
    assert ready["classlink"]["partner_api_url"] == info["partner_api_url"]
    assert "classlink_sandbox" not in ready  # no sandbox of its own was started
    assert summary["ok"] is True and summary["discovered_districts"] == ["2001"]
    assert 0 < summary["synced"]["2001"]["students"] <= 40  # those the sandbox shares
    connected = next(line for line in lines if line["event"] == "district_connected")
    assert "oauth1" in connected["why"]
    assert (
        info["partner_api_key"] not in done.stderr and info["tenants"][0]["oauth1_secret"] not in done.stderr
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sign_in_works_against_another_classlink_from_a_config_file(tmp_path: Path) -> None:
    """The stack runs against a second sandbox process (its own LaunchPad, keys and client), with
    our redirect URI registered there as an operator would: a student's tile ends in the app with
    a session for that student."""
    port = _free_port()
    redirect_uri = f"http://127.0.0.1:{port}/sso/classlink/callback"
    with other_classlink(tmp_path, "--students", "30", "--redirect-uri", redirect_uri) as (info, path):
        stack = subprocess.Popen(
            [
                *(sys.executable, "-m", "local_stack", "--classlink-config", str(path)),
                *("--http-port", str(port), "--ready-file", str(tmp_path / "ready.json")),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert stack.stdout is not None
            ready = json.loads(stack.stdout.readline())
            assert ready["sso_redirect_uri"] == redirect_uri
            for raw in stack.stdout:  # the first poll connects and syncs the district
                if json.loads(raw)["event"] == "report_sent":
                    break
            tenant = info["tenants"][0]
            student = requests.get(
                f"{tenant['proxy_base_url']}/users",
                headers={"Authorization": f"Bearer {tenant['bearer']}"},
                params={"filter": "role='student'", "limit": 1},
                timeout=10,
            ).json()["users"][0]["sourcedId"]
            browser = requests.Session()
            browser.post(
                f"{info['base_url']}/launchpad/session",
                data={"tenant": str(tenant["tenant_id"]), "sourced_id": student},
                timeout=10,
            )
            landing = browser.post(f"{info['base_url']}/launchpad/tile", timeout=30)
            assert landing.url.startswith(f"{ready['app_url']}/?login_code="), landing.url
            code = landing.url.split("login_code=")[1]
            # from the browser that finished the login: it holds the code's cookie
            session = browser.post(
                f"{ready['http_api_url']}/sso/session", json={"login_code": code}, timeout=10
            )
        finally:
            stack.terminate()
            stack.wait(timeout=30)
    claims = json.loads(base64.urlsafe_b64decode(session.json()["session_token"].split(".")[1] + "=="))
    assert (claims["tenant_id"], claims["sourced_id"]) == (str(tenant["tenant_id"]), student)
