"""`smartpass-ops sync ...`: start a manual sync and follow a run to its end.

Exit codes of `start --follow` and `follow`: 0 the run succeeded (or an approved/rejected hold
was decided), 1 it failed or was skipped, 3 it was held for approval, 4 it had not ended when
--timeout ran out (it goes on; follow it again later).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from smartpass_ops import render
from smartpass_ops.context import target
from smartpass_ops.render import Operator

if TYPE_CHECKING:
    from smartpass.data.stores import Stores
    from smartpass.operations.manual_sync import RunProgress

app = typer.Typer(help="Start a manual sync and follow it to the end.", no_args_is_help=True)

EXIT_FAILED, EXIT_HELD, EXIT_TIMEOUT = 1, 3, 4
# A queued message waits at most this long for the worker (its visibility timeout is 30 minutes).
NEVER_OPENED = timedelta(hours=1)
OUTCOME_EXIT = {"succeeded": 0, "approved": 0, "rejected": 0, "held": EXIT_HELD}


@app.command()
def start(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    follow_run: Annotated[
        bool, typer.Option("--follow/--no-follow", help="show its progress until it ends")
    ] = True,
    timeout: Annotated[float, typer.Option(help="stop following after this many seconds")] = 3600.0,
    interval: Annotated[float, typer.Option(help="seconds between looks", min=0.05)] = 1.0,
    operator: Operator = None,
) -> None:
    """Queue a manual sync of a district (the same request the system sends) and follow it."""
    who = render.operator_name(operator)

    t = target(ctx)
    from smartpass.operations.manual_sync import SyncRefused, start_manual_sync

    try:
        run_id = start_manual_sync(t.stores, tenant_id, who, t.settings.sync_queue_url, t.client("sqs"))
    except SyncRefused as exc:
        render.fail(str(exc))
    if follow_run:
        render.out().print(f"Manual sync queued: {run_id}")
        _follow(t.stores, tenant_id, run_id, timeout, interval)
    else:
        render.queued("Manual sync queued", tenant_id, run_id)


@app.command()
def follow(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    run_id: Annotated[str, typer.Argument(help="the run id (`districts show` lists them)")],
    timeout: Annotated[float, typer.Option(help="stop following after this many seconds")] = 3600.0,
    interval: Annotated[float, typer.Option(help="seconds between looks", min=0.05)] = 1.0,
) -> None:
    """Follow a run (any kind) with a progress bar until it ends, then print its summary."""
    stores = target(ctx).stores
    # A run queued a moment ago is opened when the worker takes its message; a run id that is
    # not a run's, or whose time is long past with no run, will never appear.
    if stores.runs.get(tenant_id, run_id) is None:
        try:
            queued_at = datetime.fromisoformat(run_id.split("#", 1)[0])
        except ValueError:
            queued_at = None
        if queued_at is None or datetime.now(UTC) - queued_at > NEVER_OPENED:
            render.fail(f"district {tenant_id} has no run {run_id} (`districts show {tenant_id}` lists them)")
    _follow(stores, tenant_id, run_id, timeout, interval)


def _follow(stores: Stores, tenant_id: str, run_id: str, timeout: float, interval: float) -> None:
    from smartpass.operations.manual_sync import run_progress

    console = render.out()
    deadline = time.monotonic() + timeout
    progress = run_progress(stores, tenant_id, run_id)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(_describe(progress), total=len(progress.collections) or 1, counts="")
        while True:
            bar.update(
                task,
                completed=progress.done,
                description=_describe(progress),
                counts=render.counts(progress.counts, short=True) if progress.run else "",
            )
            if progress.ended or time.monotonic() >= deadline:
                break
            time.sleep(interval)
            progress = run_progress(stores, tenant_id, run_id)
    _summary(progress)


def _describe(progress: RunProgress) -> str:
    if progress.ended:
        return progress.state
    if progress.state == "queued":
        return "queued"
    return f"{progress.state}: {progress.current or '...'}"


def _summary(progress: RunProgress) -> None:
    console = render.out()
    if not progress.ended:
        console.print(
            f"The run has not ended yet ({progress.state}); it goes on. "
            f"Follow it again: smartpass-ops sync follow {progress.tenant_id} '{progress.run_id}'"
        )
        raise typer.Exit(EXIT_TIMEOUT)
    run = progress.run
    assert run is not None
    console.print(f"Run {run.run_id} {render.state(run.state).markup} ({run.kind}, {run.pieces} piece(s))")
    console.print(f"Counts: {render.counts(run.counts)}")
    for name, per in run.by_collection.items():
        console.print(f"  {name}: {render.counts(per)}")
    for finding in run.health:
        console.print(f"Finding: {escape(finding.message)} Fix: {escape(finding.fix)}")
    code = OUTCOME_EXIT.get(run.state, EXIT_FAILED)
    if run.state == "held":
        console.print(
            f"[yellow]Held for approval[/yellow]: {escape(progress.message or '')}. Nothing was deactivated. "
            f"Review it: smartpass-ops holds show {run_id_args(progress)}"
        )
    elif code:
        console.print(
            f"[red]The sync {run.state}[/red]: {progress.message or run.error or 'no reason recorded'}"
        )
    else:
        console.print("[green]The sync finished.[/green]")
    raise typer.Exit(code)


def run_id_args(progress: RunProgress) -> str:
    return f"{progress.tenant_id} '{progress.run_id}'"
