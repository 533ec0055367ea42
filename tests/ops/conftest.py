"""smartpass-ops against the shared local stack: the CLI reads the same ready file `make run`
writes, so it binds the tables and queues the handlers use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from local_stack.__main__ import write_ready_file
from local_stack.stack import LocalStack
from smartpass_ops.cli import app

Ops = Callable[..., Result]


@pytest.fixture
def ready_file(stack: LocalStack, tmp_path: Path) -> Path:
    path = tmp_path / "local-stack.json"
    write_ready_file(str(path), {"event": "local_stack_ready", **stack.describe()}, stack)
    return path


@pytest.fixture
def ops(ready_file: Path) -> Ops:
    """Runs `smartpass-ops --ready-file <the stack's file> ARGS...` in this process; returns the
    result (exit_code, stdout, stderr). A wide terminal keeps tables on one line per row."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(
            app,
            ["--ready-file", str(ready_file), *args],
            input=input,
            env={"COLUMNS": "200", "NO_COLOR": "1"},
            catch_exceptions=False,
        )

    return run
