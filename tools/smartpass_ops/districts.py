"""`smartpass-ops districts ...`"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Districts: list, detail, register by hand, pause, resume, settings.", no_args_is_help=True
)
