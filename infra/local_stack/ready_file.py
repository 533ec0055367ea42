"""The ready file: where the running local stack is, for smartpass-ops in the same folder.

It holds the ready line, the functions' environment and the process that owns it (`pid`). A
second stack started in the folder while the first runs writes a file of its own beside it and
says so, instead of taking the first one's (whose CLI would lose its stack, and find no file at
all once the second stopped). A file whose process has ended (a crash, `kill -9`) is replaced.
At exit a stack removes its file, and only if the file is still its own. smartpass-ops reads
`pid` too, to say that a stack is no longer running rather than fail to reach it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def claim(path: str) -> tuple[Path, str | None]:
    """Where this stack writes its ready file, and a line for the person when it is not simply
    `path` as asked (another stack owns it) or when a stale file is replaced."""
    wanted = Path(path)
    if not wanted.exists():
        return wanted, None
    owner = owner_of(wanted)
    if owner is not None and owner != os.getpid() and running(owner):
        own = wanted.with_name(f"{wanted.stem}.{os.getpid()}{wanted.suffix}")
        return own, (
            f"another local stack (process {owner}) is running in this folder and owns {wanted}; "
            f"this one writes {own}: use it with `smartpass-ops --ready-file {own} ...`"
        )
    left_by = f"process {owner}" if owner is not None else "an unknown process"
    return wanted, f"replacing {wanted}, left by a local stack that is no longer running ({left_by})"


def write(path: Path, ready: dict[str, Any], environment: dict[str, str]) -> Path:
    """The ready line, the functions' environment (names of tables, queues and secrets, no
    secret values) and this process as its owner; written whole or not at all (a reader never
    sees half a file)."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.touch(mode=0o600)  # it names the sandbox's test credentials too: this user only
    partial.chmod(0o600)
    partial.write_text(json.dumps({**ready, "pid": os.getpid(), "environment": environment}, indent=2))
    partial.replace(path)
    return path


def release(path: Path) -> None:
    """Remove the file if it is still this process's."""
    if owner_of(path) == os.getpid():
        path.unlink(missing_ok=True)


def owner_of(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True
