"""`smartpass-ops signin ...`"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from smartpass_ops.context import target
from smartpass_ops.render import WhenCell, fail, out, print_json, state, when
from smartpass_ops.tables import Wide, print_table

if TYPE_CHECKING:
    from smartpass.operations.signin_check import PersonFacts, RunSeen, SignInCheck

EXIT_SEVERAL = 3  # 2 is a usage error, as for every command
app = typer.Typer(help="Can this person sign in now? If not, why, and what to change.", no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    tenant_id: Annotated[str, typer.Argument(help="the district's ClassLink tenant id")],
    who: Annotated[
        str,
        typer.Argument(help="the person: a sourcedId, an e-mail, a username or a name (any case)"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="machine output (JSON)")] = False,
    wide: Wide = False,
) -> None:
    """Say whether a person can sign in to SmartPass with ClassLink now, applying the rules the
    sign-in applies, and if not, each reason and what to change. Shows the person's role,
    schools, active flag, the last sync that saw them and their last login.

    Exit code: 0 they can sign in, 1 they cannot, 3 several people match (ask again with a
    sourcedId), 2 the question is not valid."""
    from smartpass.operations.overview import to_plain
    from smartpass.operations.signin_check import check_sign_in

    stores = target(ctx).stores
    if not who.strip():
        fail("name the person: a sourcedId, an e-mail, a username or a name", code=2)
    result = check_sign_in(stores, tenant_id.strip(), who)
    if as_json:
        print_json(to_plain(result) | {"ambiguous": result.ambiguous})
    elif result.ambiguous:
        _show_candidates(result, wide)
    else:
        _show(result, wide)
    raise typer.Exit(EXIT_SEVERAL if result.ambiguous else 0 if result.can_sign_in else 1)


def _show_candidates(result: SignInCheck, wide: bool) -> None:
    console = out()
    console.print(
        f"Several people in district {result.tenant_id} match {result.who!r} (by {result.matched_by}). "
        "Run the check again with one sourcedId:"
    )
    print_table(_candidates_table(result, merged=False), _candidates_table(result, merged=True), wide=wide)
    if result.more_candidates:
        console.print(f"... and {result.more_candidates} more: narrow the search (an e-mail or a sourcedId).")


def _candidates_table(result: SignInCheck, merged: bool) -> Table:
    """`merged`: name, e-mail and username in one column."""
    headers = ["sourcedId", "Person"] if merged else ["sourcedId", "Name", "E-mail", "Username"]
    table = Table(*headers, "Role", "Active")
    for c in result.candidates:
        person = [c.name, c.email or "-", c.username or "-"]
        table.add_row(
            Text(c.sourced_id),
            *([Text("\n".join(person))] if merged else [Text(value) for value in person]),
            c.app_role,
            _yes_no(c.active),
        )
    return table


def _show(result: SignInCheck, wide: bool) -> None:
    console = out()
    person = result.person
    subject = f"{person.name} ({person.sourced_id})" if person else repr(result.who)
    if result.can_sign_in:
        console.print(Text(f"YES: {subject} can sign in to SmartPass now.", style="bold green"))
    else:
        console.print(Text(f"NO: {subject} cannot sign in to SmartPass now.", style="bold red"))
        reasons = Table("Why", "What to change", show_lines=True)
        for reason in result.reasons:
            reasons.add_row(Text.assemble((reason.title, "bold"), f"\n{reason.problem}"), reason.fix)
        print_table(reasons, wide=wide)
    if person:
        print_table(_person_table(person, result.matched_by), wide=wide)
    district = result.district
    facts = Table("District", "", show_header=False, box=None)
    facts.add_row("District", f"{district.name} ({district.tenant_id})" if district else result.tenant_id)
    if district:
        why = f" ({district.state_reason})" if district.state_reason else ""
        facts.add_row("State", Text.assemble(state(district.state), why))
        facts.add_row("App enabled in ClassLink", _yes_no(district.sharing_enabled))
        facts.add_row("First synced", WhenCell(district.first_synced_at))
        facts.add_row("Last run", _run(district.last_run))
    else:
        facts.add_row("State", "not connected")
    print_table(facts, wide=wide)


def _person_table(person: PersonFacts, matched_by: str | None) -> Table:
    table = Table("Person", "", show_header=False, box=None)
    table.add_row("Name", person.name)
    table.add_row("sourcedId", f"{person.sourced_id} (found by {matched_by})")
    table.add_row("E-mail", person.email or "-")
    table.add_row("Username", person.username or "-")
    table.add_row("Role", f"{person.app_role} (OneRoster role {person.role})")
    active = (
        "yes" if person.active else f"no, since {when(person.deactivated_at)} ({person.deactivation_reason})"
    )
    table.add_row("Active in the roster", active)
    table.add_row("Account enabled", _yes_no(person.enabled_user))
    schools = ", ".join(f"{s.name or 'unknown school'} ({s.sourced_id})" for s in person.schools)
    table.add_row("Schools", schools or "none")
    table.add_row("First seen by a sync", WhenCell(person.first_seen_at))
    table.add_row("Last sync that saw them", _run(person.last_seen_by) if person.active else "-")
    table.add_row(
        "Record last changed", f"{when(person.last_written_at)} by run {person.last_written_by or '-'}"
    )
    linked = person.classlink_user_id
    table.add_row(
        "ClassLink account", f"UserId {linked} (linked at first sign-in)" if linked else "not linked yet"
    )
    table.add_row("Last login", WhenCell(person.last_login_at) if person.last_login_at else "never")
    return table


def _run(run: RunSeen | None) -> Text | str:
    if run is None:
        return "-"
    return Text.assemble(f"{run.run_id} ({run.kind}, ", state(run.state), f") {when(run.at)}")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"
