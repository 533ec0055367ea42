"""The README's run command in --once mode, as a separate process, exactly as CI and a person
checking an install run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from local_stack.template import load_template, resources_of_type

REPO = Path(__file__).resolve().parents[2]


def test_local_stack_once_creates_everything_delivers_each_event_kind_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "local_stack", "--once", "--students", "50"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line["event"] for line in lines] == ["local_stack_ready", "local_stack_summary"]
    ready, summary = lines
    assert ready["http_api_url"].startswith("http://127.0.0.1:")
    assert ready["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert ready["classlink_sandbox"]["tenants"][0]["tenant_id"] == 2001
    assert summary["ok"] is True and all(summary["checks"].values())
    declared = resources_of_type(load_template(), "AWS::DynamoDB::Table")
    assert len(summary["tables"]) == len(declared) == 11
    kinds = {kind.split(":")[0] for stats in summary["invocations"].values() for kind in stats}
    assert kinds == {"schedule", "sns", "sqs", "http"}
    # Function logs go to stderr (CloudWatch's place); they never carry the partner key.
    assert ready["classlink_sandbox"]["partner_api_key"] not in done.stderr
