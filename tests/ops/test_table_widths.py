"""Every table of smartpass-ops reads at 80, 100 and 160 columns (COLUMNS, as a pipe gets it):
no line wider than the terminal, no word broken or cut, no value lost. The data is real: a
district onboarded by the poll (its initial run with roster health findings), a nightly held
because ClassLink sent no users, a district with a long name paused by an operator, a sync
request the worker failed until SQS moved it to the dead-letter queue, and a missed poll tick."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass_ops.cli import app
from smartpass_ops.run_ids import SHORT
from tests.integration.onboarding_helpers import poll
from tests.integration.sync_helpers import TENANT, request, send, sync

WIDTHS = (80, 100, 160)
LONG_NAME = "Independent School District of Greater Springfield"
PAUSED = "7007"
BORDERS = re.compile(r"[\u2500-\u257f]")  # box drawing: table borders are not words
MAX_RECEIVES = 3  # the sync queue's maxReceiveCount (template.yaml)


@pytest.fixture
def scene(stack: LocalStack, stack_sandbox: SandboxServer) -> str:
    """The held run's id, once everything the tables show exists."""
    bind_tables(get_settings())
    poll(stack)
    stack_sandbox.app.faults.add(Fault(kind="empty", tenant_id=int(TENANT), collection="users", times=1))
    sync(stack, kind="nightly", trigger="schedule:held")
    held = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
    assert held.state == "held"
    District(
        tenant_id=PAUSED,
        name=LONG_NAME,
        state=DistrictState.PAUSED.value,
        state_reason="paused by an operator: the district asked us to stop syncing until August",
    ).save()
    # A request the worker fails on every delivery (no such district) ends in the DLQ.
    send(stack, request(tenant="9999"))
    worker = stack.sqs_sources[0]
    for _ in range(MAX_RECEIVES):
        stack.drain()
        worker.release_failed()
    stack.drain()
    # The poll fails its tick and both async retries: the missed tick's record.
    stack_sandbox.app.faults.add(Fault(kind="http_503", collection="applications", times=3))
    assert not stack.fire("InvitationPollFunction.PollSchedule").ok
    return held.run_id


def run(ready_file: Any, width: int | None, *args: str) -> Result:
    env = {"NO_COLOR": "1"} | ({"COLUMNS": str(width)} if width else {})
    return CliRunner().invoke(app, ["--ready-file", str(ready_file), *args], env=env, catch_exceptions=False)


def words(text: str) -> set[str]:
    return set(BORDERS.sub(" ", text).split())


def missing(output: str, *values: str) -> list[str]:
    """The words of `values` not found whole in the output."""
    found = words(output)
    return [word for value in values for word in value.split() if word not in found]


def too_wide(output: str, width: int) -> list[str]:
    # A command to copy is printed on one line however narrow (the terminal folds it).
    return [line for line in output.splitlines() if len(line) > width and "smartpass-ops " not in line]


def run_id_shown(output: str, run_id: str) -> bool:
    return bool({run_id, run_id[:SHORT]} & words(output))


def commands(held: str) -> Iterator[tuple[list[str], set[int]]]:
    yield ["districts", "list"], {0}
    yield ["districts", "show", TENANT], {0}
    yield ["districts", "show", PAUSED], {0}
    yield ["districts", "settings", TENANT], {0}
    yield ["holds", "list"], {0}
    yield ["holds", "show", TENANT, held, "--sample", "3"], {0}
    yield ["dlq", "list"], {0}
    users = sorted(RosterUser.query(TENANT), key=lambda u: u.sourced_id)
    emails = Counter(u.email.lower() for u in users if u.email)
    shared = next(email for email, count in emails.items() if count > 1)
    yield ["signin", "check", TENANT, shared], {3}  # several people match
    yield ["signin", "check", TENANT, users[0].sourced_id], {0, 1}


def test_every_table_reads_at_80_100_and_160_columns(scene: str, ready_file: Any) -> None:
    detail = json.loads(run(ready_file, None, "districts", "show", TENANT, "--json").stdout)
    shared_email = next(args[-1] for args, codes in commands(scene) if codes == {3})
    letters = json.loads(run(ready_file, None, "dlq", "list", "--json").stdout)
    [dead_request] = letters["sync"]["shown"]
    [missed_tick] = letters["schedule"]["shown"]
    for width in WIDTHS:
        outputs = {}
        for args, codes in commands(scene):
            result = run(ready_file, width, *args)
            assert result.exit_code in codes, (width, args, result.stdout, result.stderr)
            assert not too_wide(result.stdout, width), (width, args, too_wide(result.stdout, width))
            outputs[" ".join(args[:2])] = outputs.get(" ".join(args[:2]), "") + result.stdout

        listed = outputs["districts list"]
        assert not missing(listed, TENANT, PAUSED, "Maple Valley Schools", LONG_NAME, "held", "paused")
        assert not missing(listed, "nightly held", "the district asked us to stop syncing until August")

        shown = outputs["districts show"]
        for r in detail["runs"]:
            assert run_id_shown(shown, r["run_id"]), (width, r["run_id"])
            assert not missing(shown, r["kind"], r["state"], *r["findings"]), width
        for finding in detail["runs"][-1]["health"]:
            assert not missing(shown, finding["code"], finding["message"], finding["fix"]), width
        for event in detail["history"]:
            assert not missing(shown, event["kind"], event["reason"], event["to_state"] or ""), width
        assert not missing(shown, "Deactivation threshold", "terms, orgs, users, classes, enrollments")

        holds = outputs["holds list"] + outputs["holds show"]
        assert run_id_shown(holds, scene) and not missing(holds, "Maple Valley Schools", "absent", "135")

        dlq = outputs["dlq list"]
        assert not missing(dlq, dead_request["message_id"], "9999", "manual")
        assert run_id_shown(dlq, dead_request["fields"]["run_id"])
        tick = missed_tick["fields"]
        assert not missing(dlq, missed_tick["message_id"], tick["function"], tick["error_type"], "503"), width

        assert not missing(outputs["signin check"], "sourcedId", "Role", "Schools", shared_email), width


def test_wide_puts_each_row_on_one_line_with_whole_run_ids(scene: str, ready_file: Any) -> None:
    result = run(ready_file, 80, "districts", "show", TENANT, "--wide")
    assert result.exit_code == 0, result.stderr
    for r in SyncRun.query(TENANT):  # its row in the runs table: the id, kind, state and counts
        [row] = [line for line in result.stdout.splitlines() if r.run_id in line and "fetched," in line]
        assert f" {r.kind} " in row and f" {r.state} " in row
    held = run(ready_file, 80, "holds", "list", "--wide")
    [row] = [line for line in held.stdout.splitlines() if scene in line]
    assert "Maple Valley Schools" in row and "nightly" in row and "ClassLink sent no users" in row
    assert max(len(line) for line in held.stdout.splitlines()) > 80


def test_a_run_is_named_by_the_start_a_table_shows(scene: str, ready_file: Any) -> None:
    shown = run(ready_file, 80, "holds", "show", TENANT, scene[:SHORT])
    assert shown.exit_code == 0, shown.stderr
    assert f"Run {scene} of {TENANT} would deactivate" in shown.stdout
    # Two runs that start in the same second: the start names neither.
    twin = f"{scene[:SHORT]}.999999Z#manual#0123456789ab"
    SyncRun(tenant_id=TENANT, run_id=twin, kind="manual", trigger="t").save()
    ambiguous = run(ready_file, 80, "holds", "show", TENANT, scene[:SHORT])
    assert ambiguous.exit_code == 1
    assert f"2 runs of district {TENANT} start with {scene[:SHORT]}" in ambiguous.stderr
    assert run(ready_file, 80, "holds", "show", TENANT, scene[: SHORT + 3]).exit_code == 0
