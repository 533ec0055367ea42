"""The root command: where the stack is (a local ready file or a deployed stack), then one group
of commands per question an operator asks. The root options and the stack they name live in
context.py, which the command modules import (they never import this module)."""

from __future__ import annotations

import typer

from smartpass_ops import context, dead_letters, districts, holds, signin, status_page, syncs

app = typer.Typer(
    name="smartpass-ops",
    help="Operate SmartPass's ClassLink integration: districts, syncs, held runs, sign-in checks, "
    "dead letters and the status page. Works on the local stack (its ready file) or on a deployed "
    "stack (--stack NAME, with the usual AWS profile and region).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Docstrings are wrapped at 110 columns in the source: markdown joins their lines again.
    rich_markup_mode="markdown",
)
app.callback()(context.root)
app.add_typer(districts.app, name="districts")
app.add_typer(syncs.app, name="sync")
app.add_typer(holds.app, name="holds")
app.add_typer(signin.app, name="signin")
app.add_typer(dead_letters.app, name="dlq")
app.add_typer(status_page.app, name="status-page")
