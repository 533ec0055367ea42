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
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
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
    """stdout at the terminal's width, or COLUMNS when set (Rich reads it first); a pipe or a
    file without COLUMNS gets 160 columns, wide enough for a table row per line."""
    return SafeConsole(width=None if os.isatty(1) or os.environ.get("COLUMNS", "").isdigit() else 160)


def err() -> Console:
    return SafeConsole(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong in plain words (stderr) and exit non-zero."""
    err().print(Text(f"Error: {message}", style="red"))
    raise typer.Exit(code)


def queued(label: str, tenant_id: str, run_id: str) -> None:
    """A queued sync and the command that follows it (shell-quoted: run ids contain '#'), each
    on one line however narrow the terminal (soft_wrap: the terminal folds it, a copy is whole)."""
    out().print(
        f"{label}: {run_id}\nFollow it: smartpass-ops sync follow {tenant_id} '{run_id}'", soft_wrap=True
    )


def operator_name(operator: str | None) -> str:
    name = (operator or "").strip()
    if not name:
        fail("say who you are with --operator NAME (or set $USER): it goes into the district's history")
    return name


def state(value: str | None) -> Text:
    text = value or "-"
    return Text(text, style=STATE_STYLES.get(text, ""))


# The width a table column of times asks for, so a time's date and hour stay on one line.
WHEN_WIDTH = len("2026-12-04 20:35")


def when(value: datetime | None) -> str:
    """A UTC time to the minute, and how long ago."""
    if value is None:
        return "-"
    moment, ago = _when_parts(value)
    return f"{moment} ({ago})"


def _when_parts(value: datetime) -> tuple[str, str]:
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
    return f"{moment:%Y-%m-%d %H:%M} UTC", ago


class WhenCell:
    """`when()` in a table cell: on one line when the column is wide enough, else the time on
    one line and how long ago on the next, never "(3" at the end of one line and "s ago)" on
    the next."""

    def __init__(self, value: datetime | None) -> None:
        self.text = when(value)
        if value is None:
            self.lines = [self.text]
        else:
            moment, ago = _when_parts(value)
            self.lines = [moment, f"({ago})"]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        shortest = max(Measurement.get(console, options, line).minimum for line in self.lines)
        return Measurement(shortest, cell_len(self.text)).with_maximum(options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if cell_len(self.text) <= options.max_width:
            yield Text(self.text)
        else:
            yield from (Text(line) for line in self.lines)

    def __str__(self) -> str:
        return self.text


COUNT_LABELS = (
    ("fetched", "fetched"),
    ("created", "created"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("deactivated", "deactivated"),
    ("reactivated", "reactivated"),
    ("invalid", "invalid"),
    ("ignored", "ignored"),
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
            + (f", {value.ignored} ignored" if value.ignored else "")
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
