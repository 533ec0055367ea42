"""A handler with a missing setting fails at import (cold start), naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module", ["invite_handler.app", "nightly_sync.fanout", "nightly_sync.worker", "sso_callback.app"]
)
def test_handler_import_fails_fast_and_names_missing_settings(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TABLE", "_URL", "_SECRET_ID", "_ARN"))}
    env.update({"STAGE": "dev", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(REPO / "functions")})
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("smartpass.settings.SettingsError: Invalid configuration:")
    assert "DISTRICTS_TABLE is not set" in last_line and "SYNC_QUEUE_URL is not set" in last_line
