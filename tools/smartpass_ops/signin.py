"""`smartpass-ops signin ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Can this person sign in now? If not, why, and what to change.", no_args_is_help=True)
