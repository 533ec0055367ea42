"""The local stack's ready file names the process that owns it: a second stack in the folder
writes its own beside it, a file whose process has ended is replaced, and a stack removes only
its own file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from local_stack import ready_file


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _owned_by(path: Path, pid: int | None) -> None:
    path.write_text(json.dumps({"event": "local_stack_ready", **({"pid": pid} if pid else {})}))


def test_a_free_path_is_taken_as_asked(tmp_path: Path) -> None:
    assert ready_file.claim(str(tmp_path / ".local-stack.json")) == (tmp_path / ".local-stack.json", None)


def test_a_file_of_a_running_stack_is_left_alone_and_this_stack_writes_its_own(tmp_path: Path) -> None:
    path = tmp_path / ".local-stack.json"
    _owned_by(path, os.getppid())  # a process that runs: the one that started this test
    claimed, note = ready_file.claim(str(path))
    assert claimed == tmp_path / f".local-stack.{os.getpid()}.json"
    assert note is not None and f"process {os.getppid()}" in note and str(claimed) in note
    written = ready_file.write(claimed, {"event": "local_stack_ready"}, {"A": "1"})
    assert json.loads(written.read_text())["pid"] == os.getpid()
    assert ready_file.owner_of(path) == os.getppid()  # the other stack's file is untouched


def test_a_file_whose_process_has_ended_is_replaced_with_a_line_saying_so(tmp_path: Path) -> None:
    path = tmp_path / ".local-stack.json"
    ended = _ended_pid()
    _owned_by(path, ended)
    claimed, note = ready_file.claim(str(path))
    assert claimed == path
    assert note == f"replacing {path}, left by a local stack that is no longer running (process {ended})"


def test_a_stack_removes_its_own_file_only(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine.json", tmp_path / "theirs.json"
    ready_file.write(mine, {}, {})
    _owned_by(theirs, os.getppid())
    assert mine.stat().st_mode & 0o777 == 0o600
    ready_file.release(mine)
    ready_file.release(theirs)
    assert not mine.exists() and theirs.exists()
