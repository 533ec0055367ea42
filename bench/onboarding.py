"""Onboarding benchmark: from a district enabling SmartPass in ClassLink to its report.

    python -m bench.onboarding [--users 5000] [--trials 3] [--poll-seconds 60] [--save]

This process runs the ClassLink sandbox; the local stack runs as a child process exactly as a
person runs it (`python -m local_stack --classlink-config FILE`, at the production poll interval
by default), so the figure includes the wait for the next poll. Per trial: a generated district
of N users is added to the sandbox listed but not enabled; after a random wait (so the enable
falls anywhere in the poll interval) it is enabled, and the clock runs until the local stack's
story says the initial-sync report reached the operator topic. Prints one JSON line; `--save`
also writes it to bench/results/onboarding-<N>-users.json. Goal: under 120 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import Any

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer

RESULTS = Path(__file__).parent / "results"
GOAL_SECONDS = 120.0


def district_spec(tenant_id: int, users: int, seed: int) -> DistrictSpec:
    teachers = max(2, users // 20)
    aides = users // 250
    administrators = max(1, users // 500)
    return DistrictSpec(
        tenant_id=tenant_id,
        name=f"Onboarding Bench {tenant_id}",
        seed=seed,
        schools=max(1, users // 800),
        students=users - teachers - aides - administrators,
        teachers=teachers,
        aides=aides,
        administrators=administrators,
        share_unenrolled=True,
        enabled=False,
    )


class StackProcess:
    """`python -m local_stack` as a child, its stdout lines (with arrival times) on a queue."""

    def __init__(self, config_path: str, poll_seconds: float) -> None:
        self.lines: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
            [
                sys.executable,
                "-m",
                "local_stack",
                "--classlink-config",
                config_path,
                "--poll-seconds",
                str(poll_seconds),
                "--nightly-seconds",
                "86400",
                "--ready-file",
                str(Path(config_path).with_name("local-stack-ready.json")),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put((time.time(), json.loads(raw)))

    def wait_for(self, predicate: Any, timeout: float) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                arrived, line = self.lines.get(timeout=1.0)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise RuntimeError("the local stack exited") from None
                continue
            if predicate(line):
                return arrived, line
        raise TimeoutError("no such line in time")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def trial(
    sandbox: SandboxServer, stack: StackProcess, tenant_id: int, users: int, poll_seconds: float
) -> dict[str, Any]:
    sandbox.add_district(district_spec(tenant_id, users, seed=tenant_id))
    time.sleep(random.uniform(0, poll_seconds))  # the enable falls anywhere in the interval
    enabled_at = time.time()
    sandbox.change(tenant_id, {"op": "enable_sharing"})
    tenant = str(tenant_id)
    lines: dict[str, dict[str, Any]] = {}
    arrived, report = stack.wait_for(
        lambda line: (
            line.get("tenant_id") == tenant
            and (lines.setdefault(line["event"], line) is not None)
            and line["event"] == "report_sent"
        ),
        timeout=poll_seconds + 600,
    )
    discovered = lines["district_discovered"]
    finished = lines["sync_finished"]
    return {
        "tenant_id": tenant,
        "seconds_to_report": round(_epoch(report["at"]) - enabled_at, 1),
        "seconds_to_report_line": round(arrived - enabled_at, 1),
        "poll_wait_seconds": round(_epoch(discovered["at"]) - enabled_at, 1),
        "initial_sync_seconds": finished["seconds"],
        "synced": finished["synced"],
        "state": finished["state"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.onboarding", description=__doc__)
    parser.add_argument("--users", type=int, default=5000, help="users in each generated district")
    parser.add_argument("--trials", type=int, default=3, help="districts enabled one after another")
    parser.add_argument("--poll-seconds", type=float, default=60.0, help="the poll interval (production: 60)")
    parser.add_argument("--save", action="store_true", help="write bench/results/onboarding-<N>-users.json")
    args = parser.parse_args(argv)

    sandbox = SandboxServer().start()
    client = sandbox.world.register_client([])
    info = sandbox.describe()
    config = {
        "partner_api_url": info["partner_api_url"],
        "oneroster_proxy_url": info["oneroster_proxy_url"],
        "launchpad_url": info["launchpad_url"],
        "nodeapi_url": info["nodeapi_url"],
        "partner_api_key": info["partner_api_key"],
        "sso_client_id": client.client_id,
        "sso_client_secret": client.client_secret,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    stack = StackProcess(handle.name, args.poll_seconds)
    try:
        stack.wait_for(lambda line: line["event"] == "local_stack_ready", timeout=120)
        trials = [trial(sandbox, stack, 8001 + i, args.users, args.poll_seconds) for i in range(args.trials)]
    finally:
        stack.stop()
        sandbox.stop()
        os.unlink(handle.name)  # noqa: PTH108
    seconds = [t["seconds_to_report"] for t in trials]
    result = {
        "benchmark": "onboarding",
        "users": args.users,
        "poll_seconds": args.poll_seconds,
        "trials": trials,
        "median_seconds_to_report": round(median(seconds), 1),
        "max_seconds_to_report": max(seconds),
        "goal_seconds": GOAL_SECONDS,
        "goal_met": max(seconds) < GOAL_SECONDS,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    line = json.dumps(result)
    print(line)
    if args.save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"onboarding-{args.users}-users.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
