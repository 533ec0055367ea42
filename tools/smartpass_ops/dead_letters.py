"""`smartpass-ops dlq ...`"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from smartpass_ops.context import target
from smartpass_ops.render import WHEN_WIDTH, WhenCell, err, fail, out, print_json, when
from smartpass_ops.run_ids import short_run_ids
from smartpass_ops.tables import Wide, print_table

if TYPE_CHECKING:
    from smartpass.operations.dead_letters import DeadLetter

app = typer.Typer(help="Dead-letter queues: show messages (no personal data), redrive.", no_args_is_help=True)


class Queue(StrEnum):
    SYNC = "sync"
    SCHEDULE = "schedule"


# The columns each queue shows: (field, heading). Only known-safe fields exist (the domain
# never reads a body into a listing).
COLUMNS = {
    Queue.SYNC: [("tenant_id", "Tenant"), ("kind", "Kind"), ("run_id", "Run"), ("requested_at", "Requested")],
    Queue.SCHEDULE: [
        ("failed", "What failed"),
        ("function", "Function"),
        ("trigger", "Trigger"),
        ("attempts", "Attempts"),
        ("error_type", "Error"),
        ("error_message", "Message"),
    ],
}
NO_WRAP = {"tenant_id", "run_id", "function"}
SCHEDULE_NOT_REDRIVEN = (
    "messages of the schedule dead-letter queue are not redriven: each is a missed tick of the "
    "invitation poll or the nightly fan-out, and the next tick does the same work (an old tick "
    "replayed later would be wrong or useless). Read them (the function and its error), fix the "
    "cause, then delete them with `smartpass-ops dlq redrive --queue schedule --discard`."
)

QueueOption = Annotated[Queue, typer.Option("--queue", help="which dead-letter queue")]
MaxOption = Annotated[int, typer.Option("--max", min=1, max=1000, help="at most this many messages")]


@app.command("list")
def list_messages(
    ctx: typer.Context,
    queue: Annotated[
        Queue | None, typer.Option("--queue", help="one dead-letter queue (default: both)")
    ] = None,
    limit: MaxOption = 100,
    as_json: Annotated[bool, typer.Option("--json", help="machine output (JSON)")] = False,
    wide: Wide = False,
) -> None:
    """Show the messages of the dead-letter queues, without personal data: message id, when it
    was sent, how often it was received, and only known-safe fields (a sync request's tenant,
    kind, run id and request time; a missed tick's function, trigger and error). Messages stay
    in the queue (hidden for a few seconds at most while they are read)."""
    from smartpass.operations.dead_letters import peek, queue_depth

    t = target(ctx)
    sqs = t.client("sqs")
    listing = {}
    for name in [queue] if queue else list(Queue):
        url = _queue_url(t.dead_letter_queues, name)
        listing[name] = (queue_depth(sqs, url), peek(sqs, url, name.value, limit))
    if as_json:
        print_json(
            {
                name.value: {"messages": depth, "shown": [_plain(letter) for letter in letters]}
                for name, (depth, letters) in listing.items()
            }
        )
        return
    for name, (depth, letters) in listing.items():
        _show(name, depth, letters, wide)


@app.command("redrive")
def redrive_messages(
    ctx: typer.Context,
    queue: QueueOption = Queue.SYNC,
    limit: MaxOption = 100,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    discard: Annotated[
        bool, typer.Option("--discard", help="delete the messages instead (after reading them)")
    ] = False,
    wide: Wide = False,
) -> None:
    """Move dead letters back to the queue they came from, after showing them and asking.

    Sync dead letters go back to the sync queue, where the worker runs them again (a sync
    request is idempotent: the same run id). Fix the cause first (e.g. register the district,
    fix its connection), or it lands here again after three deliveries. Each message is sent,
    and only then deleted from the dead-letter queue: one whose send fails stays.

    Schedule dead letters are not redriven: they are missed ticks, and the next tick does the
    same work. Read them with `dlq list`, then delete them with `--discard`. Sync dead letters
    the worker can never read (not JSON, not a sync request) are never redriven: `--discard`
    deletes them."""
    from smartpass.operations import dead_letters

    t = target(ctx)
    sqs = t.client("sqs")
    url = _queue_url(t.dead_letter_queues, queue)
    letters = dead_letters.peek(sqs, url, queue.value, limit)
    if not letters:
        out().print(f"The {queue.value} dead-letter queue is empty: nothing to do.")
        return
    _show(queue, dead_letters.queue_depth(sqs, url), letters, wide)
    if queue == Queue.SCHEDULE and not discard:
        fail(SCHEDULE_NOT_REDRIVEN, code=2)
    unreadable = [] if discard else [letter for letter in letters if letter.problem]
    if unreadable:
        # The worker would only reject them again, three more times: they stay, for --discard.
        out().print(
            f"{len(unreadable)} message(s) the worker can never read stay here (see the problem "
            "column); delete them with --discard once read."
        )
        letters = [letter for letter in letters if not letter.problem]
        if not letters:
            raise typer.Exit(1)
    verb = "Delete" if discard else "Move back to the sync queue"
    if not yes and not typer.confirm(f"{verb}: these {len(letters)} message(s)?", default=False):
        err().print("Nothing was changed.")
        raise typer.Exit(1)
    ids = [letter.message_id for letter in letters]
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err(), transient=True
    ) as progress:
        task = progress.add_task("deleting" if discard else "moving", total=len(ids))

        def advance(message_id: str, ok: bool) -> None:
            progress.advance(task)

        if discard:
            outcome = dead_letters.discard(sqs, url, ids, advance)
        else:
            outcome = dead_letters.redrive(sqs, url, t.settings.sync_queue_url, ids, advance)
    done = "Deleted" if discard else "Moved"
    where = "" if discard else " back to the sync queue"
    out().print(f"{done} {len(outcome.done)} of {len(ids)} message(s){where}.")
    if outcome.not_found:
        out().print(f"{len(outcome.not_found)} message(s) had left the queue meanwhile (nothing done).")
    if outcome.failed:
        failures = ", ".join(f"{message_id} ({code})" for message_id, code in outcome.failed.items())
        fail(
            f"{len(outcome.failed)} message(s) could not be {'deleted' if discard else 'moved'} and stay "
            "in the dead-letter queue: "
            f"{failures}"
        )


def _queue_url(queues: dict[str, str], name: Queue) -> str:
    url = queues.get(name.value)
    if not url:
        fail(f"this stack names no {name.value} dead-letter queue")
    return url


def _plain(letter: DeadLetter) -> dict[str, object]:
    return {
        "message_id": letter.message_id,
        "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
        "receive_count": letter.receive_count,
        "fields": letter.fields,
        "problem": letter.problem,
    }


def _show(queue: Queue, depth: int, letters: list[DeadLetter], wide: bool = False) -> None:
    console = out()
    if not letters:
        console.print(f"The {queue.value} dead-letter queue is empty.")
        return
    shown = f" (showing {len(letters)})" if len(letters) < depth else ""
    console.print(f"The {queue.value} dead-letter queue holds {depth} message(s){shown}:")
    run_ids = [letter.fields["run_id"] for letter in letters if letter.fields.get("run_id")]
    short = short_run_ids(run_ids)
    whole = {run_id: run_id for run_id in short}
    print_table(
        _letters_table(queue, letters, whole, merged=False),
        _letters_table(queue, letters, short, merged=False),
        _letters_table(queue, letters, short, merged=True),
        wide=wide,
    )


def _letters_table(queue: Queue, letters: list[DeadLetter], short: Mapping[str, str], merged: bool) -> Table:
    """`merged`: when it was sent and how often received under the message id, the message's
    fields in one column. Run ids as `short` gives them."""
    columns = COLUMNS[queue]
    problems = any(letter.problem for letter in letters)
    table = Table()
    table.add_column("Message id", no_wrap=True)  # an operator copies ids whole
    if merged:
        table.add_column("Request" if queue == Queue.SYNC else "Missed tick")
    else:
        table.add_column("Sent", min_width=WHEN_WIDTH)
        table.add_column("Receives", justify="right")
        for key, heading in columns:
            table.add_column(heading, no_wrap=key in NO_WRAP)
    if problems:
        table.add_column("Problem")
    for letter in letters:
        fields = [
            short.get(letter.fields.get(key, ""), "-") if key == "run_id" else letter.fields.get(key, "-")
            for key, _ in columns
        ]
        if merged:
            sent = f"sent {when(letter.sent_at)}\nreceived {letter.receive_count} time(s)"
            pairs = zip(columns, fields, strict=True)
            described = "\n".join(f"{heading}: {value}" for (_, heading), value in pairs)
            cells: list[str | WhenCell] = [f"{letter.message_id}\n{sent}", described]
        else:
            cells = [letter.message_id, WhenCell(letter.sent_at), str(letter.receive_count), *fields]
        table.add_row(
            *(Text(cell) if isinstance(cell, str) else cell for cell in cells),
            *([Text(letter.problem or "-")] if problems else []),
        )
    return table
