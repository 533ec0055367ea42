"""Tables that read at any terminal width: no word broken, no cell cut, no column lost.

Rich shrinks a table that is too wide by narrowing its widest columns, then all of them evenly,
breaking words and cropping cells as it goes (`Tenan`, `initial succeede`). Here every column is
given at least its longest word (a cell that must stay on one line, its whole text), and the
spare width goes first to the columns that then fit on one line, the rest shared evenly by those
that still wrap. A command gives its table and, for narrow terminals, tables with fewer, merged
columns; when none fits, the first is printed as one block per row (heading: value), which reads
at any width. `--wide` prints the first table with every row on one line, however wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from smartpass_ops import render

Wide = Annotated[
    bool,
    typer.Option(
        "--wide",
        help="every column and whole values (full run ids), each row on one line however wide",
    ),
]


def print_table(table: Table, *narrower: Table, wide: bool = False, console: Console | None = None) -> None:
    """Print `table` fitted to the console, or the first of `narrower` that fits, or `table` as
    one block per row; see the module."""
    console = console or render.out()
    if wide:
        widths = [high for _, high in _column_ranges(console, table, 100_000)]
        _fix(table, widths)
        total = sum(widths) + _overhead(console, table)
        wide_console = render.SafeConsole(width=max(total, console.width), file=console.file)
        wide_console.print(table)
        return
    for candidate in (table, *narrower):
        fitted = _fitted_widths(console, candidate)
        if fitted is not None:
            _fix(candidate, fitted)
            console.print(candidate)
            return
    print_records(console, table)


def _fitted_widths(console: Console, table: Table) -> list[int] | None:
    """Widths of the columns' contents (without padding) that fit the console without breaking a
    word, or None when the table cannot fit."""
    ranges = _column_ranges(console, table, console.width)
    spare = console.width - _overhead(console, table) - sum(low for low, _ in ranges)
    if spare < 0:
        return None
    widths = [low for low, _ in ranges]
    # Water-filling: the column needing least is served first, each to at most an even share
    # of what is left, so short columns stay on one line and long prose shares the rest.
    wanting = sorted(range(len(ranges)), key=lambda i: ranges[i][1] - ranges[i][0])
    for position, index in enumerate(wanting):
        share = spare // (len(wanting) - position)
        given = min(ranges[index][1] - widths[index], share)
        widths[index] += given
        spare -= given
    return widths


def _column_ranges(console: Console, table: Table, limit: int) -> list[tuple[int, int]]:
    """Per column: its longest word (its whole text when it must not wrap) and its longest line."""
    options = console.options.update_width(limit)
    ranges = []
    for column in table.columns:
        cells: list[RenderableType] = [*column.cells]
        if table.show_header:
            cells.append(column.header)
        measured = [Measurement.get(console, options, cell) for cell in cells]
        high = max((m.maximum for m in measured), default=1)
        low = high if column.no_wrap else max((m.minimum for m in measured), default=1)
        # A column's min_width keeps words together that read as one (a date and its time).
        low = min(max(low, column.min_width or 1), high)
        ranges.append((max(low, 1), max(high, 1)))
    return ranges


def _overhead(console: Console, table: Table) -> int:
    """What the table adds to its columns' contents: padding, borders, separators."""
    saved = [column.width for column in table.columns]
    _fix(table, [1] * len(table.columns))
    try:
        return Measurement.get(console, console.options.update_width(100_000), table).maximum - len(saved)
    finally:
        for column, width in zip(table.columns, saved, strict=True):
            column.width = width


def _fix(table: Table, widths: Sequence[int]) -> None:
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width


def print_records(console: Console, table: Table) -> None:
    """A table as one block per row: its first cell as a heading, then each other column's
    heading and value on a line of their own (values wrap at spaces)."""
    if table.title:
        console.print(table.title, style="italic")
    headers = [_plain(column.header) for column in table.columns]
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    for number, cells in enumerate(rows):
        if number:
            console.print()
        first, *rest = cells
        console.print(Text.assemble((f"{headers[0]}: ", "bold"), _as_text(first)))
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for header, cell in zip(headers[1:], rest, strict=True):
            block.add_row(Text(f"  {header}"), cell)
        console.print(block)
    if table.caption:
        console.print(table.caption, style="dim")


def _plain(renderable: RenderableType) -> str:
    return renderable.plain if isinstance(renderable, Text) else str(renderable)


def _as_text(renderable: RenderableType) -> Text | str:
    return renderable if isinstance(renderable, (Text, str)) else str(renderable)
