"""`smartpass-ops districts ...`: list, show, register by hand, pause, resume, settings.

Domain calls live in smartpass.operations (the status page reads the same ones); this module
only parses options and draws. Domain modules are imported inside the commands, so `--help`
and `districts list` do not pay for what other commands need.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from smartpass_ops import render
from smartpass_ops.context import target
from smartpass_ops.render import Operator
from smartpass_ops.run_ids import short_run_ids
from smartpass_ops.tables import Wide, print_table

if TYPE_CHECKING:
    from smartpass.onboarding.connect import OnboardingServices
    from smartpass.operations.overview import (
        DistrictDetail,
        DistrictSummary,
        HistoryEvent,
        RunView,
        SettingsView,
    )
    from smartpass_ops.target import Target

app = typer.Typer(
    help="Districts: list, detail, register by hand, pause, resume, settings.", no_args_is_help=True
)

SECRET_VARIABLE = "SMARTPASS_DISTRICT_SECRET"  # noqa: S105 (the variable's name, not a secret)
CONNECTION_CHECK_SECONDS = 60.0  # the time a hand registration or resume gives its check


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine output (JSON)")] = False,
    wide: Wide = False,
) -> None:
    """Every district: state, last run, its counts and what it said."""
    stores = target(ctx).stores
    from smartpass.operations.overview import list_districts, to_plain

    districts = list_districts(stores)
    if as_json:
        render.print_json([to_plain(d) for d in districts])
        return
    if not districts:
        render.out().print("No districts yet: none found by the ClassLink poll or registered by hand.")
        return
    print_table(
        _districts_table(districts, merged=False), _districts_table(districts, merged=True), wide=wide
    )


def _districts_table(districts: list[DistrictSummary], merged: bool) -> Table:
    """One row per district; `merged` puts the last run's end under its kind and state."""
    title = f"{len(districts)} district{'' if len(districts) == 1 else 's'}"
    table = Table(title=title, title_justify="left", caption=render.COUNTS_LEGEND, box=box.SIMPLE_HEAD)
    headers = ["Tenant", "Name", "State", "Last run", *([] if merged else ["Finished"]), "Counts", "Note"]
    for name in headers:
        table.add_column(name, no_wrap=name == "Tenant", min_width=_when_width(name, "Last run", "Finished"))
    for d in districts:
        last = d.last_run
        note = (last.message if last and last.state in ("held", "failed") else None) or d.state_reason or ""
        outcome = render.state(f"{last.kind} {last.state}") if last else render.state(None)
        finished = render.WhenCell(last.finished_at) if last else "-"
        table.add_row(
            Text(d.tenant_id),
            Text(d.name),
            render.state(d.state),
            *([Group(outcome, finished) if last else "-"] if merged else [outcome, finished]),
            render.counts(last.counts, short=True) if last else "-",
            Text(note),
        )
    return table


@app.command()
def show(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    runs: Annotated[int, typer.Option(help="how many recent runs", min=1, max=100)] = 10,
    history: Annotated[int, typer.Option(help="how many history events", min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="machine output (JSON)")] = False,
    wide: Wide = False,
) -> None:
    """One district: its state and settings, recent runs with counts and findings, history."""
    stores = target(ctx).stores
    from smartpass.operations.overview import UnknownDistrict, district_detail, to_plain

    try:
        detail = district_detail(stores, tenant_id, runs=runs, history=history)
    except UnknownDistrict as exc:
        render.fail(str(exc))
    if as_json:
        plain = to_plain(detail)
        plain["contact_email"] = render.masked_email(detail.contact_email)  # as in the table
        render.print_json(plain)
        return
    _print_detail(detail, wide)


RUN_ACTOR = "sync-run:"  # the actor of the history events a run wrote


def _print_detail(detail: DistrictDetail, wide: bool) -> None:
    console = render.out()
    d = detail.district
    lines = [
        f"[bold]{escape(d.name)}[/bold]  (ClassLink tenant {escape(d.tenant_id)})",
        f"State: {render.state(d.state).markup}  {escape(d.state_reason or '')}",
        f"Registered: {detail.registration}, connection {detail.connection_mode}; "
        f"connected {render.when(detail.connected_at)}; first synced {render.when(detail.first_synced_at)}",
        f"Report address: {render.masked_email(detail.contact_email)}",
    ]
    if detail.paused_by:
        lines.append(f"Paused by {escape(detail.paused_by)}: only an operator resumes it")
    if detail.running_run_id:
        lines.append(f"Running now: {escape(detail.running_run_id)}")
    console.print(Panel("\n".join(lines), title="District", title_align="left"))
    print_table(_settings_table(detail.settings), wide=wide)

    actors = [e.actor.removeprefix(RUN_ACTOR) for e in detail.history if e.actor.startswith(RUN_ACTOR)]
    short = short_run_ids([*(r.run_id for r in detail.runs), *actors])
    whole = {run_id: run_id for run_id in short}
    if detail.runs:
        print_table(
            _runs_table(detail.runs, whole, merged=False),
            _runs_table(detail.runs, short, merged=False),
            _runs_table(detail.runs, short, merged=True),
            wide=wide,
        )
    else:
        console.print("No runs yet.")

    latest = next((r for r in detail.runs if r.health or r.synced), None)
    if latest is not None:
        synced = ", ".join(f"{v} {k}" for k, v in latest.synced.items()) or "-"
        title = f"Roster health (run {latest.run_id}): synced {synced}"
        if not latest.health:
            console.print(f"Roster health: no findings (synced {synced}).")
        else:
            health = Table(title=title, title_justify="left")
            for name in ("Finding", "Count", "What it means", "Fix"):
                health.add_column(name)
            for finding in latest.health:
                health.add_row(finding.code, str(finding.count), Text(finding.message), Text(finding.fix))
            print_table(health, wide=wide)

    def run_by(actor: str) -> str:
        return f"run {short[actor.removeprefix(RUN_ACTOR)]}" if actor.startswith(RUN_ACTOR) else actor

    if not detail.history:
        console.print("No history yet.")
        return
    print_table(
        _history_table(detail.history, str, merged=False),
        _history_table(detail.history, run_by, merged=False),
        _history_table(detail.history, run_by, merged=True),
        wide=wide,
    )


def _runs_table(runs: Sequence[RunView], shown: Mapping[str, str], merged: bool) -> Table:
    """Run ids as `shown` gives them (whole, or their start); `merged`: the kind under the run
    id, and no start time (the run id's time is close)."""
    table = Table(title="Recent runs (newest first)", title_justify="left", caption=render.COUNTS_LEGEND)
    headers = ["Run", *([] if merged else ["Kind"]), "State", *([] if merged else ["Started"]), "Finished"]
    for name in [*headers, "Counts", "Notes"]:
        table.add_column(
            name, no_wrap=name == "Run" and not merged, min_width=_when_width(name, "Started", "Finished")
        )
    for run in runs:
        notes = [*run.findings, *([run.error] if run.error else [])]
        if run.decided_by:
            notes.append(f"decided by {run.decided_by}")
        table.add_row(
            *([f"{shown[run.run_id]}\n{run.kind}"] if merged else [shown[run.run_id], run.kind]),
            render.state(run.state),
            *([] if merged else [render.WhenCell(run.started_at)]),
            render.WhenCell(run.finished_at),
            render.counts(run.counts, short=True),
            Text("\n".join(notes)),
        )
    return table


def _history_table(events: Sequence[HistoryEvent], who: Callable[[str], str], merged: bool) -> Table:
    """`who` says who did it (a run by its short id, or as stored); `merged`: the change of
    state under what happened."""
    table = Table(title="History (newest first)", title_justify="left")
    headers = ["When", "What", *([] if merged else ["From", "To"]), "Who", "Why"]
    for name in headers:
        table.add_column(name, min_width=_when_width(name, "When"))
    for e in events:
        change = f"{e.from_state or '-'} → {e.to_state or '-'}" if e.from_state or e.to_state else ""
        table.add_row(
            render.WhenCell(e.at),
            *([f"{e.kind}\n{change}".strip()] if merged else [e.kind, e.from_state or "", e.to_state or ""]),
            Text(who(e.actor)),
            Text(e.reason),
        )
    return table


def _when_width(header: str, *times: str) -> int | None:
    """The width a column holding times asks for (render.WHEN_WIDTH)."""
    return render.WHEN_WIDTH if header in times else None


def _settings_table(settings: SettingsView) -> Table:
    table = Table(title="Sync settings", title_justify="left", show_header=False)
    table.add_column("Setting")
    table.add_column("Value")
    table.add_row(
        "Deactivation threshold",
        f"{settings.threshold_percent:g}% of a collection's active records, at least "
        f"{settings.threshold_minimum} (more is held for approval)",
    )
    table.add_row("Blackout dates", ", ".join(settings.blackout_dates) or "none")
    table.add_row("Collections", ", ".join(settings.collections))
    overrides = ", ".join(f"{k}={v or '(left out)'}" for k, v in settings.role_mapping.items())
    table.add_row("Role mapping", overrides or "defaults")
    table.add_row("Page size", str(settings.page_size))
    return table


def _services(t: Target) -> OnboardingServices:
    # The poll's own services: the same secret writes, connection check and sync queue.
    from smartpass_aws.onboarding_services import build_services

    deadline = time.monotonic() + CONNECTION_CHECK_SECONDS
    return build_services(t.settings, lambda: max(deadline - time.monotonic(), 0.0), t.stores)


@app.command()
def register(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    name: Annotated[str, typer.Option("--name", help="the district's name")],
    key: Annotated[str, typer.Option("--key", help="OAuth1 key (Roster Server -> App Overview -> API)")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="the district's Roster Server URL (https)")],
    contact_email: Annotated[
        str | None, typer.Option("--contact-email", help="where the district's reports go")
    ] = None,
    operator: Operator = None,
) -> None:
    """Register a district by hand with the OAuth1 key, secret and endpoint it sent. The secret
    is asked for without echo, or read from SMARTPASS_DISTRICT_SECRET (never an argument).

    Its connection is checked and its first sync queued, as for a district the poll finds."""
    who = render.operator_name(operator)
    # Never a command-line argument: it would stay in the shell's history and show in `ps`.
    secret = os.environ.get(SECRET_VARIABLE) or typer.prompt("OAuth1 secret", hide_input=True)
    t = target(ctx)
    from smartpass.onboarding.register import RegistrationError, register_district

    try:
        outcome = register_district(
            tenant_id, name, key, secret, endpoint, who, _services(t), contact_email=contact_email
        )
    except RegistrationError as exc:
        render.fail(str(exc))
    if not outcome.connected:
        render.fail(f"{name} is registered but could not be connected: {outcome.reason}")
    render.out().print(f"[green]Registered[/green] {escape(name)} ({tenant_id}): {escape(outcome.reason)}")
    if outcome.queued_run_id:
        render.queued("First sync queued", tenant_id, outcome.queued_run_id)


@app.command()
def pause(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    reason: Annotated[str, typer.Option("--reason", help="why (kept in the district's history)")],
    operator: Operator = None,
) -> None:
    """Pause a district: no sync runs until an operator resumes it (the ClassLink poll does not)."""
    who = render.operator_name(operator)
    stores = target(ctx).stores
    from smartpass.operations.district_admin import AdminError, pause_district

    try:
        pause_district(stores, tenant_id, who, reason)
    except AdminError as exc:
        render.fail(str(exc))
    render.out().print(Text(f"Paused {tenant_id}: {reason}"))


@app.command()
def resume(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    operator: Operator = None,
) -> None:
    """Resume a paused district: its connection is checked and a catch-up sync queued."""
    who = render.operator_name(operator)
    t = target(ctx)
    from smartpass.operations.district_admin import AdminError, resume_district

    try:
        outcome = resume_district(tenant_id, who, _services(t))
    except AdminError as exc:
        render.fail(str(exc))
    if outcome.state == "error":
        render.fail(f"resumed {tenant_id}, but its connection check failed: {outcome.message}")
    render.out().print(Text(f"Resumed {tenant_id} ({outcome.state}): {outcome.message}"))
    if outcome.queued_run_id:
        render.queued("Sync queued", tenant_id, outcome.queued_run_id)


@app.command()
def settings(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="ClassLink tenant id")],
    threshold: Annotated[
        float | None,
        typer.Option(help="hold a run that would deactivate more than this % of a collection"),
    ] = None,
    threshold_minimum: Annotated[
        int | None, typer.Option(help="...but never hold for fewer than this many records")
    ] = None,
    blackout: Annotated[
        list[str] | None,
        typer.Option(help="a date (YYYY-MM-DD) with no nightly sync; repeat; replaces the list"),
    ] = None,
    clear_blackout: Annotated[
        bool, typer.Option("--clear-blackout", help="remove every blackout date")
    ] = False,
    collections: Annotated[
        list[str] | None,
        typer.Option(help="collections to sync (terms, orgs, users, classes, enrollments); repeat or a,b"),
    ] = None,
    role_map: Annotated[
        list[str] | None,
        typer.Option(
            help="CLASSLINK_ROLE=SMARTPASS_ROLE (e.g. aide=teacher, aide= leaves aides out); repeat"
        ),
    ] = None,
    reset_role_map: Annotated[
        bool, typer.Option("--reset-role-map", help="back to the default role mapping")
    ] = False,
    operator: Operator = None,
    wide: Wide = False,
) -> None:
    """Show a district's sync settings, or change the ones given (the rest stay)."""
    changing = any(
        v is not None and v != [] for v in (threshold, threshold_minimum, blackout, collections, role_map)
    ) or (clear_blackout or reset_role_map)
    who = render.operator_name(operator) if changing else ""
    stores = target(ctx).stores
    from smartpass.operations.district_admin import AdminError, change_settings, plain_pairs
    from smartpass.operations.overview import UnknownDistrict, district_detail

    try:
        if not changing:
            current = district_detail(stores, tenant_id, runs=1, history=1).settings
            print_table(_settings_table(current), wide=wide)
            return
        if clear_blackout and blackout:
            render.fail("give --blackout dates or --clear-blackout, not both")
        names = [n for value in collections or [] for n in value.split(",")] if collections else None
        saved = change_settings(
            stores,
            tenant_id,
            who,
            threshold_percent=threshold,
            threshold_minimum=threshold_minimum,
            blackout_dates=[] if clear_blackout else (blackout or None),
            collections=names,
            role_mapping=plain_pairs(role_map) if role_map else None,
            reset_role_mapping=reset_role_map,
        )
    except (AdminError, UnknownDistrict) as exc:
        render.fail(str(exc))
    render.out().print(f"Saved the settings of {tenant_id}:")
    print_table(_settings_table(saved), wide=wide)
