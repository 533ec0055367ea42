"""How long the test suite takes from a clean clone: `python -m bench.suite [--rev REV] [--save]`.

Clones REV (default HEAD) of this repository into a temporary folder, builds its venv as
`make` does (timed apart: pip's downloads are not the suite), then runs `make test` there (ruff,
mypy, cfn-lint, the docs check, every pytest tier) and prints one JSON line. With --save the
run is kept in bench/results/suite.json under its label (`--label before`/`after`), so the
figure in docs/benchmarks.md comes from a run, never from prose. Run it on an idle machine:
the suite shares two cores with whatever else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "suite.json"
VENV_STAMP = ".venv/.installed"


def _run(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode})")
    return seconds, done.stdout + done.stderr


def measure(rev: str, python: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="suite-") as folder:
        clone = Path(folder) / "repo"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)  # noqa: S603, S607
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)  # noqa: S603, S607
        commit = subprocess.run(  # noqa: S603
            ["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        venv_seconds, _ = _run(["make", VENV_STAMP, f"PYTHON={python}"], clone)
        test_seconds, output = _run(["make", "test", f"PYTHON={python}"], clone)
        shutil.rmtree(clone / ".venv", ignore_errors=True)
    summary = re.findall(r"(\d+) passed(?:, (\d+) \w+)*.* in ([\d.]+)s", output)
    passed, _, pytest_seconds = summary[-1] if summary else ("0", "", "0")
    return {
        "rev": rev,
        "commit": commit,
        "venv_seconds": round(venv_seconds, 1),
        "make_test_seconds": round(test_seconds, 1),
        "pytest_seconds": float(pytest_seconds),
        "tests_passed": int(passed),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to measure (a clean clone of it)")
    parser.add_argument("--label", default="after", help="the name the run is kept under with --save")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that builds the venv")
    parser.add_argument("--save", action="store_true", help=f"keep it in {RESULTS.relative_to(REPO)}")
    args = parser.parse_args()
    result = measure(args.rev, args.python)
    print(json.dumps(result))
    if args.save:
        kept: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        kept = {"benchmark": "suite", "goal_seconds": 300, **kept}
        kept.setdefault("runs", {})[args.label] = result
        RESULTS.write_text(json.dumps(kept, indent=2) + "\n")


if __name__ == "__main__":
    main()
