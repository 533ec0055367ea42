"""`smartpass-ops dlq ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Dead-letter queues: show messages (no personal data), redrive.", no_args_is_help=True)
