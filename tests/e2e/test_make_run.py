"""`make run`'s program as a person runs it, in a folder of its own: the ready file it leaves for
smartpass-ops, a second stack started in the same folder, a stack killed without a chance to
clean up, the line each poll and the stop print, and the defaults its --help shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
READY = ".local-stack.json"
SMALL = ("--students", "20", "--teachers", "2")


class Stack:
    def __init__(self, folder: Path, *options: str) -> None:
        self.log = folder / f"stderr-{len(list(folder.glob('stderr-*')))}.txt"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local_stack", *SMALL, *options],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.ready = self.next_line()
        assert self.ready["event"] == "local_stack_ready", self.ready

    def next_line(self, event: str | None = None) -> dict[str, Any]:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line: dict[str, Any] = json.loads(raw)
            if event is None or line["event"] == event:
                return line
        raise AssertionError(f"the stack ended before {event}: {self.log.read_text()[-2000:]}")

    def said(self) -> str:
        return "\n".join(
            line for line in self.log.read_text().splitlines() if line.startswith("local stack: ")
        )

    def terminate(self) -> dict[str, Any]:
        """SIGTERM, as `kill` sends: the last line says it stopped."""
        self.process.send_signal(signal.SIGTERM)
        last = self.next_line("local_stack_stopped")
        assert self.process.wait(timeout=30) == 0
        return last


@contextmanager
def running(folder: Path, *options: str) -> Iterator[Stack]:
    stack = Stack(folder, *options)
    try:
        yield stack
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
            stack.process.wait(timeout=30)


def ops(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartpass_ops", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def owner(path: Path) -> int:
    return int(json.loads(path.read_text())["pid"])


def test_a_second_stack_in_the_same_folder_leaves_the_first_ones_ready_file_alone(tmp_path: Path) -> None:
    with running(tmp_path, "--poll-seconds", "1") as first:
        assert first.ready["ready_file"] == READY and owner(tmp_path / READY) == first.process.pid
        with running(tmp_path) as second:
            own = f".local-stack.{second.process.pid}.json"
            assert second.ready["ready_file"] == own and owner(tmp_path / own) == second.process.pid
            assert (
                f"another local stack (process {first.process.pid}) is running in this folder"
                in second.said()
            )
            assert owner(tmp_path / READY) == first.process.pid
            assert ops(tmp_path, "districts", "list").returncode == 0  # the first stack
            assert ops(tmp_path, "--ready-file", own, "districts", "list").returncode == 0
            assert second.terminate()["by"] == "SIGTERM"
        assert not (tmp_path / own).exists() and owner(tmp_path / READY) == first.process.pid
        # Each poll says so, the later ones too (nothing changed: "none"), and when the next is.
        polls = [first.next_line("classlink_polled") for _ in range(3)]
        assert [p["ok"] for p in polls] == [True] * 3 and polls[-1]["changes"] == "none"
        assert polls[0]["next_in_seconds"] == 1.0
        assert first.terminate()["by"] == "SIGTERM"
    assert not (tmp_path / READY).exists()


def test_a_ready_file_left_by_a_killed_stack_is_named_as_such_then_replaced(tmp_path: Path) -> None:
    with running(tmp_path) as killed:
        killed.process.kill()  # no chance to remove its file
        killed.process.wait(timeout=30)
    gone = ops(tmp_path, "districts", "list")
    assert gone.returncode == 2, gone.stderr
    assert "the local stack in this folder is no longer running" in gone.stderr
    assert f"process {killed.process.pid}" in gone.stderr
    with running(tmp_path) as again:
        assert f"replacing {READY}, left by a local stack that is no longer running" in again.said()
        assert owner(tmp_path / READY) == again.process.pid
        assert ops(tmp_path, "districts", "list").returncode == 0
        again.terminate()


def test_help_shows_the_defaults() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "local_stack", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(shown.split())
    assert "(default: 60, as in production)" in flat and "(default: 3600;" in flat
    assert "local_stack_stopped" in flat
