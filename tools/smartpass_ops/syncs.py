"""`smartpass-ops sync ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Start a manual sync and follow it to the end.", no_args_is_help=True)
