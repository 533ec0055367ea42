"""The stack this invocation works on, shared by the root command and the command modules.

The root command's callback (`root`, registered on the app in cli.py) stores where the stack is;
a command calls `target(ctx)` for it, opened on first use. This module imports no command
module: cli.py imports the command modules, and they import this one, never cli.py."""

from __future__ import annotations

from typing import Annotated

import typer

from smartpass_ops.render import SafeConsole
from smartpass_ops.target import DEFAULT_READY_FILE, Target, TargetError, from_ready_file, from_stack

errors = SafeConsole(stderr=True)


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


# The root command's options; cli.py registers this as the app's callback.
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
