"""Shared Rich formatting for smartpass-ops commands: consoles, times, states, counts, errors.

Kept free of the domain's heavy imports so any command module can use it at no start-up cost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from smartpass.text import printable

STATE_STYLES = {
    "active": "green",
    "succeeded": "green",
    "approved": "green",
    "syncing": "cyan",
    "running": "cyan",
    "connecting": "cyan",
    "queued": "cyan",
    "held": "yellow",
    "paused": "magenta",
    "skipped": "magenta",
    "rejected": "magenta",
    "error": "red",
    "failed": "red",
}

Operator = Annotated[
    str | None,
    typer.Option(
        "--operator",
        envvar="USER",
        help="who does this (recorded in the district's history); defaults to $USER",
        show_default=False,
    ),
]


class SafeConsole(Console):
    """A console that never passes a control character from the data to the terminal.

    Tenant and person names come from ClassLink: a name holding ESC sequences would recolour,
    retitle or hyperlink the operator's terminal, and Rich strips only a few control codes (not
    ESC). Every text segment is cleaned as it is written; the escape codes Rich itself makes for
    its styles are added after, so colours still work."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(printable(segment.text, line_breaks=True), segment.style)
            for segment in buffer
        )


def out() -> Console:
    # Wide enough for a table row per district when the output is a pipe or a file.
    return SafeConsole(width=None if os.isatty(1) else max(int(os.environ.get("COLUMNS", "160")), 100))


def err() -> Console:
    return SafeConsole(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong in plain words (stderr) and exit non-zero."""
    err().print(Text(f"Error: {message}", style="red"))
    raise typer.Exit(code)


def queued(label: str, tenant_id: str, run_id: str) -> None:
    """A queued sync and the command that follows it (shell-quoted: run ids contain '#')."""
    out().print(f"{label}: {run_id}\nFollow it: smartpass-ops sync follow {tenant_id} '{run_id}'")


def operator_name(operator: str | None) -> str:
    name = (operator or "").strip()
    if not name:
        fail("say who you are with --operator NAME (or set $USER): it goes into the district's history")
    return name


def state(value: str | None) -> Text:
    text = value or "-"
    return Text(text, style=STATE_STYLES.get(text, ""))


def when(value: datetime | None) -> str:
    """A UTC time to the minute, and how long ago."""
    if value is None:
        return "-"
    moment = value.astimezone(UTC)
    seconds = max((datetime.now(UTC) - moment).total_seconds(), 0)
    if seconds < 90:
        ago = f"{int(seconds)} s ago"
    elif seconds < 90 * 60:
        ago = f"{int(seconds // 60)} min ago"
    elif seconds < 36 * 3600:
        ago = f"{int(seconds // 3600)} h ago"
    else:
        ago = f"{int(seconds // 86400)} d ago"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({ago})"


COUNT_LABELS = (
    ("fetched", "fetched"),
    ("created", "created"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("deactivated", "deactivated"),
    ("reactivated", "reactivated"),
    ("invalid", "invalid"),
)


COUNTS_LEGEND = "counts: fetched, +created ~updated -deactivated ↺reactivated !invalid"


def counts(value: Any, short: bool = False) -> str:
    """A RunCounts (smartpass.operations.overview) in one line."""
    if value is None:
        return "-"
    if short:
        return (
            f"{value.fetched} fetched, +{value.created} ~{value.updated} -{value.deactivated}"
            + (f" ↺{value.reactivated}" if value.reactivated else "")
            + (f" !{value.invalid}" if value.invalid else "")
        )
    return ", ".join(f"{getattr(value, name)} {label}" for name, label in COUNT_LABELS)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


def masked_email(address: str | None) -> str:
    """Where a district's reports go, without naming the person (only the domain)."""
    if not address:
        return "not set"
    return f"set (…@{address.rsplit('@', 1)[-1]})"
