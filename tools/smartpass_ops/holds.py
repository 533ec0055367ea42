"""`smartpass-ops holds ...`: held runs, what one would deactivate, approve or reject it.

A sample shows sourcedIds and reasons only: identifiers, never names or roster payloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from smartpass_ops import render
from smartpass_ops.context import target
from smartpass_ops.render import Operator
from smartpass_ops.run_ids import AmbiguousRunId, resolve_run_id, short_run_ids
from smartpass_ops.tables import Wide, print_table

if TYPE_CHECKING:
    from smartpass.data.stores import Stores
    from smartpass.operations.held_runs import HeldRun

app = typer.Typer(help="Held runs: what they would deactivate; approve or reject.", no_args_is_help=True)

TenantId = Annotated[str, typer.Argument(help="ClassLink tenant id")]
RunId = Annotated[
    str, typer.Argument(help="the held run's id, or its start as `holds list` shows it (to the second)")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


def _open(ctx: typer.Context) -> Stores:
    return target(ctx).stores


def _run_id(stores: Stores, tenant_id: str, given: str) -> str:
    try:
        return resolve_run_id(stores, tenant_id, given)
    except AmbiguousRunId as exc:
        render.fail(str(exc))


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this district")] = None,
    include_stale: Annotated[
        bool, typer.Option("--all", help="also holds a later run has superseded")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine output (JSON)")] = False,
    wide: Wide = False,
) -> None:
    """Held runs waiting for a decision, newest first."""
    stores = _open(ctx)
    from smartpass.operations.held_runs import list_held_runs
    from smartpass.operations.overview import to_plain

    try:
        held = list_held_runs(stores, tenant, include_stale=include_stale)
    except LookupError as exc:
        render.fail(str(exc))
    if as_json:
        render.print_json([to_plain(h) for h in held])
        return
    if not held:
        render.out().print("No held runs waiting for a decision.")
        return
    short = short_run_ids(h.run_id for h in held)
    whole = {run_id: run_id for run_id in short}
    print_table(
        _held_table(held, whole, merged=False),
        _held_table(held, short, merged=False),
        _held_table(held, short, merged=True),
        wide=wide,
    )


def _held_table(held: Sequence[HeldRun], shown: Mapping[str, str], merged: bool) -> Table:
    """Run ids as `shown` gives them (whole, or their start); `merged`: the district's name
    under its tenant id, the kind under the run id."""
    table = Table(title=f"{len(held)} held run(s)", title_justify="left")
    headers = ["District", "Run"] if merged else ["Tenant", "District", "Run", "Kind"]
    for name in [*headers, "Held", "Would deactivate", "Why"]:
        table.add_column(
            name,
            no_wrap=name in ("Tenant", "Run") and not merged,
            min_width=render.WHEN_WIDTH if name == "Held" else None,
        )
    for h in held:
        why = "; ".join(h.reasons) + (" (stale: a later run decided afresh)" if h.stale else "")
        cells: list[RenderableType] = (
            [Text(f"{h.tenant_id}\n{h.district_name}"), f"{shown[h.run_id]}\n{h.kind}"]
            if merged
            else [h.tenant_id, Text(h.district_name), shown[h.run_id], h.kind]
        )
        table.add_row(
            *cells,
            render.WhenCell(h.finished_at),
            str(h.held_deactivations),
            Text(why),
        )
    return table


@app.command()
def show(
    ctx: typer.Context,
    tenant_id: TenantId,
    run_id: RunId,
    sample: Annotated[int, typer.Option(help="how many records to show", min=0, max=500)] = 20,
    wide: Wide = False,
) -> None:
    """What a held run would deactivate: counts by collection and reason, and a sample."""
    stores = _open(ctx)
    from smartpass.sync.holds import HoldError, review_hold

    run_id = _run_id(stores, tenant_id, run_id)
    try:
        review = review_hold(stores, tenant_id, run_id, sample_size=sample)
    except HoldError as exc:
        render.fail(str(exc))
    console = render.out()
    console.print(Text(f"Run {run_id} of {tenant_id} would deactivate {review.total} record(s)."))
    counts = Table(title="By collection and reason", title_justify="left")
    for name in ("Collection", "Reason", "Records"):
        counts.add_column(name)
    for collection, reasons in sorted(review.by_collection.items()):
        for reason, count in sorted(reasons.items()):
            counts.add_row(collection, reason, str(count))
    print_table(counts, wide=wide)
    if review.sample:
        table = Table(title=f"Sample ({len(review.sample)} of {review.total})", title_justify="left")
        for name in ("Collection", "sourcedId", "Reason"):
            table.add_column(name, no_wrap=name == "sourcedId")
        for collection, sourced_id, reason in review.sample:
            table.add_row(collection, Text(sourced_id), reason)
        print_table(table, wide=wide)
    # Each command on one line, whatever the width (the terminal folds it; a copy is whole).
    console.print(Text(f"Approve: smartpass-ops holds approve {tenant_id} '{run_id}'"), soft_wrap=True)
    console.print(Text(f"Reject:  smartpass-ops holds reject {tenant_id} '{run_id}'"), soft_wrap=True)


@app.command()
def approve(
    ctx: typer.Context, tenant_id: TenantId, run_id: RunId, operator: Operator = None, yes: Yes = False
) -> None:
    """Apply the held deactivations (each only if the record is still as it was when held)."""
    who = render.operator_name(operator)
    stores = _open(ctx)
    from smartpass.sync.holds import HoldError, approve_hold, review_hold

    run_id = _run_id(stores, tenant_id, run_id)
    try:
        total = review_hold(stores, tenant_id, run_id, sample_size=0).total
        if not yes:
            typer.confirm(f"Deactivate {total} record(s) of district {tenant_id}?", abort=True)
        result = approve_hold(stores, tenant_id, run_id, operator=who)
    except HoldError as exc:
        render.fail(str(exc))
    render.out().print(
        f"Approved by {escape(who)}: {result['applied']} deactivated, "
        f"{result['no_longer_applicable']} no longer applicable (changed or back since the hold)."
    )


@app.command()
def reject(
    ctx: typer.Context, tenant_id: TenantId, run_id: RunId, operator: Operator = None, yes: Yes = False
) -> None:
    """Drop the held deactivations: nothing is deactivated; the next sync decides afresh."""
    who = render.operator_name(operator)
    stores = _open(ctx)
    from smartpass.sync.holds import HoldError, reject_hold

    run_id = _run_id(stores, tenant_id, run_id)
    try:
        if not yes:
            typer.confirm(f"Drop the held deactivations of run {run_id}?", abort=True)
        reject_hold(stores, tenant_id, run_id, operator=who)
    except HoldError as exc:
        render.fail(str(exc))
    render.out().print(f"Rejected by {escape(who)}: nothing was deactivated.")
