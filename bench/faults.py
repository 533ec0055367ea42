"""The fault survival report: `python -m bench.faults [--save]`.

Runs the fault survival suite (tests/integration/test_faults_*.py: the local stack, the real
worker, the sandbox over HTTP) and prints one line per fault tried: its family, the fault, the
outcome (completed, completed after redelivery, failed cleanly...) and the invariants checked
(nothing lost, nothing wrongly deactivated, none stuck in syncing). Each test records its own
line (tests/integration/fault_helpers.record); a test that failed is listed as FAILED with the
invariants unknown. With --save the report is kept in bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "faults.json"
SUITE = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests" / "integration").glob("test_faults_*.py"))
INVARIANTS = ("nothing_lost", "nothing_wrongly_deactivated", "none_stuck_in_syncing")


class Collector:
    """A pytest plugin: each test's recorded fault line, or its failure."""

    def __init__(self) -> None:
        self.faults: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.failed and report.when == "setup"):
            return
        lines = [json.loads(str(v)) for k, v in report.user_properties if k == "fault"]
        if report.passed:
            self.faults += [{**line, "test": report.nodeid, "passed": True} for line in lines]
        elif report.failed:
            self.faults.append(
                {
                    "family": "?",
                    "fault": report.nodeid.split("::")[-1],
                    "outcome": "FAILED",
                    "checks": {},
                    "test": report.nodeid,
                    "passed": False,
                }
            )


def _line(fault: dict[str, Any]) -> str:
    checks = fault.get("checks", {})
    marks = " ".join(
        f"{name}={'yes' if checks.get(name) else '?' if name not in checks else 'NO'}" for name in INVARIANTS
    )
    return f"{fault['family']:<48} {fault['fault']:<50} -> {fault['outcome']}  [{marks}]"


def _commit() -> str:
    command = ["git", "rev-parse", "--short", "HEAD"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", action="store_true", help=f"keep the report in {RESULTS.relative_to(REPO)}")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers (default 2)")
    args = parser.parse_args(argv)
    collector = Collector()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-n", args.workers, *SUITE], plugins=[collector])
    faults = sorted(collector.faults, key=lambda f: (f["family"], f["fault"]))
    print(f"\n{len(faults)} faults tried ({sum(f['passed'] for f in faults)} survived):")
    for fault in faults:
        print(_line(fault))
    survived = bool(faults) and all(
        f["passed"] and all(f["checks"].get(n) for n in INVARIANTS) for f in faults
    )
    if args.save:
        RESULTS.write_text(
            json.dumps(
                {
                    "benchmark": "faults",
                    "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "commit": _commit(),
                    "machine": f"{platform.machine()}, {platform.python_version()}",
                    "suite": SUITE,
                    "survived": survived,
                    "faults": faults,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"saved {RESULTS.relative_to(REPO)}")
    return 0 if code == 0 and survived else 1


if __name__ == "__main__":
    sys.exit(main())
