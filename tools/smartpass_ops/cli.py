"""The root command: where the stack is (a local ready file or a deployed stack), then one group
of commands per question an operator asks."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from smartpass_ops import dead_letters, districts, holds, signin, status_page, syncs
from smartpass_ops.target import DEFAULT_READY_FILE, Target, TargetError, from_ready_file, from_stack

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
app.add_typer(districts.app, name="districts")
app.add_typer(syncs.app, name="sync")
app.add_typer(holds.app, name="holds")
app.add_typer(signin.app, name="signin")
app.add_typer(dead_letters.app, name="dlq")
app.add_typer(status_page.app, name="status-page")

errors = Console(stderr=True)


class Lazy:
    """The stack is opened on first use, so `--help` works anywhere."""

    def __init__(self, ready_file: str, stack: str | None, profile: str | None, region: str | None) -> None:
        self._args = (ready_file, stack, profile, region)
        self._target: Target | None = None

    def get(self) -> Target:
        if self._target is None:
            ready_file, stack, profile, region = self._args
            try:
                self._target = from_stack(stack, profile, region) if stack else from_ready_file(ready_file)
            except TargetError as exc:
                errors.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
        return self._target


@app.callback()
def root(
    ctx: typer.Context,
    ready_file: Annotated[
        str,
        typer.Option(
            "--ready-file",
            envvar="SMARTPASS_READY_FILE",
            help="the local stack's ready file (written by `make run`)",
        ),
    ] = DEFAULT_READY_FILE,
    stack: Annotated[
        str | None,
        typer.Option("--stack", envvar="SMARTPASS_STACK", help="a deployed stack's name (AWS)"),
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile (deployed stacks)")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region (deployed stacks)")] = None,
) -> None:
    ctx.obj = Lazy(ready_file, stack, profile, region)


def target(ctx: typer.Context) -> Target:
    """The stack of this invocation (for the command modules)."""
    lazy = ctx.find_root().obj
    assert isinstance(lazy, Lazy)
    return lazy.get()
