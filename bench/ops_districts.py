"""Operator CLI benchmark: `smartpass-ops districts list` over many districts.

    python -m bench.ops_districts [--districts 1000] [--runs 7] [--save]

The local stack runs in this process (moto server over HTTP, as `make run`); N districts, each
with a realistic last-run summary (most active after a nightly run, some held, failed, paused
or still connecting), are written straight into the Districts table through the model. Then
`python -m smartpass_ops --ready-file F districts list` runs as a subprocess, as an operator
would run it, several times: the median and the worst wall time, start-up included. For
diagnosis it also times the CLI's start alone (`--help`) and the domain call alone
(`list_districts(stores)`, one paged scan) in this process.
For diagnosis it also times, inside the moto server (this process), the Scan handler's own
logic and moto's response serializer (measured around them, behaviour unchanged).
Prints one JSON line; `--save` writes bench/results/ops-districts-list.json. Goal: < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local_stack.__main__ import start, write_ready_file
from smartpass.data.districts import District, RunSummary
from smartpass.data.stores import dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.operations.overview import list_districts
from smartpass.settings import get_settings

RESULTS = Path(__file__).parent / "results"
GOAL_SECONDS = 2.0
# (district state, last run state, share): what a night's end looks like across districts.
MIX: tuple[tuple[str, str | None, float], ...] = (
    ("active", "succeeded", 0.86),
    ("held", "held", 0.04),
    ("error", "failed", 0.04),
    ("paused", "succeeded", 0.03),
    ("connecting", None, 0.03),
)


def make_district(n: int, rng: random.Random, now: datetime) -> District:
    roll, cumulative = rng.random(), 0.0
    state: str = MIX[0][0]
    run_state: str | None = MIX[0][1]
    for state, run_state, share in MIX:  # noqa: B007 (the last pair is the fallback)
        cumulative += share
        if roll < cumulative:
            break
    tenant_id = str(10_000 + n)
    district = District(
        tenant_id=tenant_id,
        name=f"{rng.choice(('North', 'South', 'East', 'West', 'Lake', 'Pine', 'Cedar'))} "
        f"{rng.choice(('Valley', 'County', 'Unified', 'Heights', 'Ridge'))} Schools {n}",
        state=state,
        state_reason={
            "active": "nightly sync succeeded",
            "held": "held for approval: 412 of 3120 active users would be deactivated, over the limit of 312",
            "error": "ClassLink did not answer SmartPass's test request (HTTP 503); SmartPass will try again",
            "paused": "the district disabled the app in ClassLink Roster Server",
            "connecting": "found in the ClassLink Partner API; connecting",
        }[state],
        connection_mode=rng.choice(("proxy", "proxy", "proxy", "oauth1")),
        credentials_secret_id=f"smartpass/district/{tenant_id}",
        oneroster_application_id=f"app%2F{tenant_id}",
        connected_at=now - timedelta(days=rng.randint(1, 400)),
        first_synced_at=now - timedelta(days=rng.randint(1, 400)) if run_state else None,
    )
    if run_state is not None:
        users = rng.randint(200, 60_000)
        created, updated, deactivated = rng.randint(0, 40), rng.randint(0, users // 50), rng.randint(0, 30)
        counts = {
            "fetched": users + users // 3,
            "created": created,
            "updated": updated,
            "unchanged": users + users // 3 - created - updated,
            "deactivated": 0 if run_state != "succeeded" else deactivated,
            "reactivated": rng.randint(0, 3),
            "invalid": rng.choice((0, 0, 0, 1, 4)),
            "ignored": rng.randint(0, 200),
        }
        finished = now - timedelta(hours=rng.randint(1, 30), minutes=rng.randint(0, 59))
        district.last_run = RunSummary(
            run_id=f"{finished:%Y-%m-%dT%H:%M:%S.%fZ}#nightly#{n:012x}",
            kind="nightly",
            state=run_state,
            finished_at=finished,
            message=district.state_reason if run_state in ("held", "failed") else None,
            counts=counts,
        )
    return district


def seed(districts: int) -> None:
    rng, now = random.Random(7), datetime.now(UTC)
    with District.batch_write() as batch:
        for n in range(districts):
            batch.save(make_district(n, rng, now))


class MotoClock:
    """Sums, per kind, the time moto server spends in the DynamoDB Scan handler's logic and in
    serializing DynamoDB responses (moto's generic serializer walks every attribute value)."""

    def __init__(self) -> None:
        from moto.dynamodb import responses

        self.spent = {"scan_logic": 0.0, "serializer": 0.0}
        scan, execute = responses.DynamoHandler.scan, responses.DynamoResult.execute_result

        def timed_scan(handler: Any) -> Any:
            began = time.perf_counter()
            try:
                return scan(handler)
            finally:
                self.spent["scan_logic"] += time.perf_counter() - began

        def timed_execute(result: Any, context: Any) -> Any:
            began = time.perf_counter()
            try:
                return execute(result, context)
            finally:
                self.spent["serializer"] += time.perf_counter() - began

        responses.DynamoHandler.scan = timed_scan  # type: ignore[method-assign]
        responses.DynamoResult.execute_result = timed_execute  # type: ignore[method-assign,assignment]

    def take(self) -> dict[str, float]:
        taken = dict(self.spent)
        self.spent = dict.fromkeys(self.spent, 0.0)
        return taken


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return time.perf_counter() - began, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ops_districts", description=__doc__)
    parser.add_argument("--districts", type=int, default=1000, help="districts in the table")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of the command")
    parser.add_argument("--save", action="store_true", help="write bench/results/ops-districts-list.json")
    args = parser.parse_args(argv)

    stack, sandbox = start(students=10, teachers=2)
    try:
        bind_tables(get_settings())
        stores = dynamo_stores()
        seed(args.districts)
        with tempfile.TemporaryDirectory() as folder:
            ready = write_ready_file(
                str(Path(folder) / "ready.json"), {"event": "local_stack_ready", **stack.describe()}, stack
            )
            env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
            cli = [sys.executable, "-m", "smartpass_ops", "--ready-file", str(ready)]
            table, json_runs, starts, scans = [], [], [], []
            in_moto: list[dict[str, float]] = []
            clock = MotoClock()
            for _ in range(args.runs):
                clock.take()
                seconds, out = timed([*cli, "districts", "list"], env)
                assert f"{args.districts} districts" in out, out[-500:]
                table.append(seconds)
                in_moto.append(clock.take())
                seconds, out = timed([*cli, "districts", "list", "--json"], env)
                assert len(json.loads(out)) == args.districts
                json_runs.append(seconds)
                starts.append(timed([*cli, "--help"], env)[0])
                began = time.perf_counter()
                assert len(list_districts(stores)) == args.districts
                scans.append(time.perf_counter() - began)
    finally:
        stack.stop()
        sandbox.stop()
    result = {
        "benchmark": "ops-districts-list",
        "districts": args.districts,
        "runs": args.runs,
        "command": "smartpass-ops --ready-file F districts list (subprocess, wall time)",
        "table_seconds": {"median": round(statistics.median(table), 3), "worst": round(max(table), 3)},
        "json_seconds": {"median": round(statistics.median(json_runs), 3), "worst": round(max(json_runs), 3)},
        # Where the time goes: the CLI's start (Python, Typer, Rich; no stack opened) and the
        # domain's one paged scan of the Districts table, in a warm process.
        "cli_start_seconds": round(statistics.median(starts), 3),
        "list_districts_seconds": round(statistics.median(scans), 3),
        # Of one `districts list`, the time moto server spent on the Scan's logic and on
        # serializing the response: the serializer is a local-stack cost (AWS does not pay it).
        "moto_seconds": {
            kind: round(statistics.median(m[kind] for m in in_moto), 3)
            for kind in ("scan_logic", "serializer")
        },
        "goal_seconds": GOAL_SECONDS,
        "goal_met": max(table) < GOAL_SECONDS,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result), file=sys.__stdout__, flush=True)
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "ops-districts-list.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
