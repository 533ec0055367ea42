"""`smartpass-ops sync ...`: start a manual sync and follow a run to its end.

Exit codes of `start --follow` and `follow`: 0 the run succeeded (or an approved/rejected hold
was decided), 1 it failed or was skipped, 3 it was held for approval, 4 it had not ended when
--timeout ran out (it goes on; follow it again later).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from smartpass_ops import render
from smartpass_ops.context import target
from smartpass_ops.render import Operator
from smartpass_ops.run_ids import AmbiguousRunId, resolve_run_id

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
    run_id: Annotated[
        str,
        typer.Argument(help="the run id, or its start as `districts show` lists it (to the second)"),
    ],
    timeout: Annotated[float, typer.Option(help="stop following after this many seconds")] = 3600.0,
    interval: Annotated[float, typer.Option(help="seconds between looks", min=0.05)] = 1.0,
) -> None:
    """Follow a run (any kind) with a progress bar until it ends, then print its summary."""
    stores = target(ctx).stores
    try:
        run_id = resolve_run_id(stores, tenant_id, run_id)
    except AmbiguousRunId as exc:
        render.fail(str(exc))
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
        task = bar.add_task(_describe(progress, False), total=len(progress.collections) or 1, counts="")
        while True:
            settled = progress.ended and _settled(stores, progress)
            bar.update(
                task,
                completed=progress.done,
                description=_describe(progress, settled),
                counts=render.counts(progress.counts, short=True) if progress.run else "",
            )
            if settled or time.monotonic() >= deadline:
                break
            time.sleep(interval)
            progress = run_progress(stores, tenant_id, run_id)
    _summary(progress, settled, _roles_not_synced(stores, tenant_id) if progress.ended else [])


def _settled(stores: Stores, progress: RunProgress) -> bool:
    """Whether the worker has done with the run. Its final state is written first; the roster
    health, the report and the district's state follow, and the district's sync lease is
    released last (smartpass.sync.finish). A summary read between the two lacks the findings."""
    district = stores.districts.get(progress.tenant_id, attributes=["sync_lease_run_id"])
    return district is None or district.sync_lease_run_id != progress.run_id


def _describe(progress: RunProgress, settled: bool) -> str:
    if progress.ended:
        return progress.state if settled else f"{progress.state}: roster health and report"
    if progress.state == "queued":
        return "queued"
    return f"{progress.state}: {progress.current or '...'}"


def _summary(progress: RunProgress, settled: bool, not_kept: Sequence[str]) -> None:
    console = render.out()
    if not progress.ended:
        console.print(f"The run has not ended yet ({progress.state}); it goes on. Follow it again:")
        _command(console, f"smartpass-ops sync follow {run_id_args(progress)}")
        raise typer.Exit(EXIT_TIMEOUT)
    run = progress.run
    assert run is not None
    console.print(f"Run {run.run_id} {render.state(run.state).markup} ({run.kind}, {run.pieces} piece(s))")
    console.print(f"Counts: {render.counts(run.counts)}")
    for name, per in run.by_collection.items():
        console.print(f"  {name}: {render.counts(per)}")
    if run.counts.ignored:
        roles = ", ".join(not_kept) or "none"
        console.print(
            f"Ignored: {run.counts.ignored} record(s) we do not keep: users of a role not synced "
            f"(here: {roles}; `districts settings --role-map` changes it) and records ClassLink "
            "marks tobedeleted."
        )
    for finding in run.health:
        console.print(f"Finding: {escape(finding.message)} Fix: {escape(finding.fix)}")
    if not settled:
        console.print(
            "Its worker was still writing roster health and the report when --timeout ran out; "
            "they show once written:"
        )
        _command(console, f"smartpass-ops districts show {progress.tenant_id}")
    code = OUTCOME_EXIT.get(run.state, EXIT_FAILED)
    if run.state == "held":
        console.print(
            f"[yellow]Held for approval[/yellow]: {escape(progress.message or '')}. Nothing was deactivated. "
            "Review it:"
        )
        _command(console, f"smartpass-ops holds show {run_id_args(progress)}")
    elif code:
        console.print(
            f"[red]The sync {run.state}[/red]: {progress.message or run.error or 'no reason recorded'}"
        )
    else:
        console.print("[green]The sync finished.[/green]")
    raise typer.Exit(code)


def _command(console: Console, command: str) -> None:
    """A command to copy, on one line however narrow the terminal (the terminal folds it)."""
    console.print(Text(f"  {command}"), soft_wrap=True)


def _roles_not_synced(stores: Stores, tenant_id: str) -> list[str]:
    """The OneRoster roles the district's role mapping leaves out (guardians by default)."""
    from smartpass.data.base import plain_map
    from smartpass.sync.collections import role_mapping

    district = stores.districts.get(tenant_id, attributes=["sync_settings"])
    overrides = plain_map(district.sync_settings.role_mapping) if district else {}
    return sorted(role for role, app_role in role_mapping(overrides).items() if not app_role)


def run_id_args(progress: RunProgress) -> str:
    return f"{progress.tenant_id} '{progress.run_id}'"
