"""`smartpass-ops status-page ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Open the operator status page.", no_args_is_help=True)
