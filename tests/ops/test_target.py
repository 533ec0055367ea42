"""Which stack the CLI opens: the local ready file, and a clear error when there is none."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from local_stack.stack import LocalStack
from smartpass_ops.cli import app
from smartpass_ops.target import from_ready_file


def test_ready_file_binds_the_stack_the_handlers_use(stack: LocalStack, ready_file: Path) -> None:
    target = from_ready_file(ready_file)
    assert target.settings.districts_table == stack.environment["DISTRICTS_TABLE"]
    assert target.dead_letter_queues["sync"] == stack.ref("SyncDeadLetterQueue")
    assert target.http_api_url == stack.gateway.url if stack.gateway else False
    queues = target.client("sqs").list_queues()["QueueUrls"]
    assert stack.environment["SYNC_QUEUE_URL"] in queues


def test_missing_ready_file_says_how_to_start_the_stack(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--ready-file", str(tmp_path / "none.json"), "districts", "list"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "make run" in result.stderr and "--stack" in result.stderr


def test_a_file_that_is_not_a_ready_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": 1}))
    result = CliRunner().invoke(app, ["--ready-file", str(path), "districts", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "not a local stack ready file" in result.stderr


def test_a_ready_file_left_by_a_stack_that_is_gone_says_so(ready_file: Path) -> None:
    """A crash or kill -9 leaves the file behind: the CLI says the stack is no longer running
    instead of failing to reach it (ScanError: Could not connect to the endpoint URL)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    ready = json.loads(ready_file.read_text())
    ready_file.write_text(json.dumps({**ready, "pid": child.pid}))
    result = CliRunner().invoke(
        app, ["--ready-file", str(ready_file), "districts", "list"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "the local stack in this folder is no longer running" in result.stderr
    assert f"process {child.pid}, which has ended" in result.stderr and "make run" in result.stderr
    # Its process may be someone else's by now (pids are reused): nothing answering says it too.
    ready_file.write_text(json.dumps({**ready, "aws_endpoint_url": f"http://127.0.0.1:{_closed_port()}"}))
    result = CliRunner().invoke(
        app, ["--ready-file", str(ready_file), "districts", "list"], env={"COLUMNS": "200"}
    )
    assert (
        result.exit_code == 2 and "no longer running" in result.stderr and "nothing answers" in result.stderr
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unexpected_aws_error_is_said_plainly_with_its_own_exit_code(ready_file: Path) -> None:
    ready = json.loads(ready_file.read_text())
    ready["environment"]["DISTRICTS_TABLE"] = "smartpass-local-NoSuchTable"
    ready_file.write_text(json.dumps(ready))
    done = subprocess.run(
        [sys.executable, "-m", "smartpass_ops", "--ready-file", str(ready_file), "districts", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 70  # not 1, which `signin check` and `sync` use as an answer
    assert "Error: the command stopped on ScanError" in done.stderr
    assert "Traceback" not in done.stderr
