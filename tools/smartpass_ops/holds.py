"""`smartpass-ops holds ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Held runs: what they would deactivate; approve or reject.", no_args_is_help=True)
