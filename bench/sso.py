"""SSO benchmark: the callback's own latency and the SSO function's cold-start import time.

    python -m bench.sso [--logins 300] [--imports 15] [--save]

1. Latency: the local stack and the sandbox run in this process; the sandbox district is
   onboarded by the poll. Each login signs a user in to the sandbox LaunchPad, starts our launch
   and follows ClassLink's redirect up to our callback URL; then the callback is invoked through
   the local HTTP API as a browser would. Time spent waiting for ClassLink (the token and my/info
   calls, and discovery/JWKS when fetched) is measured around the OIDC client's HTTP session and
   taken out, so what remains is the callback's own work: state, id_token check, identity,
   DynamoDB, login code. p50 and p99 over all logins.
2. Cold import, of functions/ as `make build` ships it (bytecode compiled ahead), in the
   environment Lambda gives a function (LAMBDA_TASK_ROOT and the function's name set, tracing on
   as `Tracing: Active` deploys it; outside Lambda the X-Ray SDK builds a sampler with its own
   botocore client at import, which Lambda never does):
   - `python -c "import sso_callback.app"` beside a bare `python -c "import boto3"`, wall clock,
     alternated, median of each: the whole cold import, for scale;
   - our own code: in a process that has already imported every module from outside our code
     that the function loads and made the Powertools objects it makes (the libraries' floor), the
     time `import sso_callback.app` still takes, init included; less, timed the same way in a
     process of its own, one DynamoDB client made as PynamoDB makes it (the library work the
     init is asked to do ahead, which no change to our code removes). Timed inside the process,
     these two are free of the interpreter's start-up noise.
Prints one JSON line; `--save` writes bench/results/sso.json. Goals (the cold start decided: the
function runs from a SnapStart snapshot): p99 < 50 ms; our own code adds at most 0.35 times a
bare `import boto3` over the libraries' floor; the first sign-in after init at most 1.5 times the
warm p50.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from local_stack.__main__ import start
from local_stack.stack import LocalStack
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings

RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).resolve().parents[1]


class ClassLinkClock:
    """Sums the time the OIDC client's HTTP session spends on ClassLink, per thread."""

    def __init__(self, session: requests.Session) -> None:
        self.local = threading.local()
        original = session.request

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.local.spent = getattr(self.local, "spent", 0.0) + time.perf_counter() - began

        session.request = timed  # type: ignore[method-assign]

    def take(self) -> float:
        spent = getattr(self.local, "spent", 0.0)
        self.local.spent = 0.0
        return spent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_logins(stack: LocalStack, sandbox: Any, logins: int) -> dict[str, Any]:
    from sso_callback.services import oidc  # the module the handler uses, in this process

    clock = ClassLinkClock(oidc()._session)
    function = stack.functions["SsoCallbackFunction"]
    original_invoke = function.invoke
    own: list[float] = []
    total: list[float] = []

    def invoke(event: Any, kind: str) -> Any:
        if kind != "http" or event.get("rawPath") != "/sso/classlink/callback":
            return original_invoke(event, kind)
        clock.take()
        began = time.perf_counter()
        outcome = original_invoke(event, kind)
        elapsed = time.perf_counter() - began
        total.append(elapsed)
        own.append(elapsed - clock.take())
        return outcome

    function.invoke = invoke  # type: ignore[method-assign]
    users = [
        u
        for u in sandbox.world.tenants[2001].users().values()
        if u["role"] in ("student", "teacher") and u["status"] == "active" and u.get("enabledUser") == "true"
    ]
    assert stack.gateway is not None
    signed_in = 0
    for n in range(logins):
        user = users[n % len(users)]
        browser = requests.Session()
        browser.post(
            f"{sandbox.base_url}/launchpad/session",
            data={"tenant": "2001", "sourced_id": user["sourcedId"]},
            allow_redirects=False,
            timeout=10,
        )
        landing = browser.get(f"{stack.gateway.url}/sso/classlink/launch", timeout=30)
        signed_in += "login_code=" in landing.url
    function.invoke = original_invoke  # type: ignore[method-assign]
    warm = own[1:]  # the first call also fetches discovery and keys; keep it out of the steady state
    return {
        "logins": logins,
        "signed_in": signed_in,
        "own_ms": {
            "p50": round(statistics.median(warm) * 1000, 1),
            "p99": round(percentile(warm, 0.99) * 1000, 1),
            "max": round(max(warm) * 1000, 1),
            "first_call": round(own[0] * 1000, 1),
        },
        "with_classlink_ms": {"p50": round(statistics.median(total[1:]) * 1000, 1)},
    }


OWN_PACKAGES = ("smartpass", "smartpass_aws", "sso_callback")

# Every module from outside our code that the function loads (listed by a first import), then
# the Powertools objects it creates: the libraries' floor, which no change to our code can remove.
LIST_LIBRARIES = (
    "import json, sys; before = set(sys.modules); import sso_callback.app; "
    f"own = {OWN_PACKAGES!r}; "
    "print(json.dumps([m for m in sys.modules if m not in before and m.split('.')[0] not in own]))"
)
FLOOR = (
    "import importlib, json, os, sys, time\n"
    "for name in json.loads(os.environ['BENCH_LIBRARIES']):\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "    except ImportError:\n"
    "        pass  # a runtime-internal name (cython_runtime) that cannot be imported by name\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
    "Logger(); Metrics(); Tracer(); APIGatewayHttpResolver()\n"
    "began = time.perf_counter()\n"
)
# Timed over the floor, each in a process of its own: our code (the function's import, its init
# included), and the one thing its init asks of a library that the floor has not done, a DynamoDB
# client made from a new botocore session as PynamoDB makes it.
OWN_CODE = FLOOR + "import sso_callback.app\nprint(time.perf_counter() - began)\n"
ONE_CLIENT = (
    FLOOR
    + "import botocore.session\n"
    + "region = os.environ.get('AWS_REGION') or os.environ['AWS_DEFAULT_REGION']\n"
    + "botocore.session.get_session().create_client('dynamodb', region)\n"
    + "print(time.perf_counter() - began)\n"
)


def lambda_like(environment: dict[str, str], code_root: Path) -> dict[str, str]:
    """What the Python runtime sets for a function, and no local-stack switches."""
    env = {k: v for k, v in {**os.environ, **environment}.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    return {
        **env,
        "PYTHONPATH": str(code_root),
        "LAMBDA_TASK_ROOT": str(code_root),
        "AWS_LAMBDA_FUNCTION_NAME": "smartpass-bench-SsoCallbackFunction",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": "sso_callback.app.lambda_handler",
    }


def built_code(into: Path) -> Path:
    """functions/ as `make build` ships it: bytecode compiled ahead (Lambda's code directory is
    read-only, so a module without its .pyc is compiled again at every cold start)."""
    root = into / "functions"
    shutil.copytree(REPO / "functions", root, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(root, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return root


def measure_imports(environment: dict[str, str], runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        env = lambda_like(environment, built_code(Path(scratch)))
        return _imports(env, runs)


def _imports(env: dict[str, str], runs: int) -> dict[str, Any]:
    def run(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            [sys.executable, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    def wall(statement: str) -> float:
        began = time.perf_counter()
        run("-c", statement)
        return time.perf_counter() - began

    env["BENCH_LIBRARIES"] = run("-c", LIST_LIBRARIES).strip()
    sso, boto, own, client = [], [], [], []
    for _ in range(runs):
        sso.append(wall("import sso_callback.app"))
        boto.append(wall("import boto3"))
        own.append(float(run("-c", OWN_CODE)))
        client.append(float(run("-c", ONE_CLIENT)))
    sso_median, boto_median = statistics.median(sso), statistics.median(boto)
    return {
        "runs": runs,
        "environment": "Lambda-like (LAMBDA_TASK_ROOT set, tracing on), bytecode as `make build` ships it",
        "sso_function_seconds": round(sso_median, 3),
        "bare_boto3_seconds": round(boto_median, 3),
        "ratio": round(sso_median / boto_median, 2),
        "libraries_loaded": len(json.loads(env["BENCH_LIBRARIES"])),
        "own_code_seconds": round(statistics.median(own), 4),
        "one_dynamodb_client_seconds": round(statistics.median(client), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sso", description=__doc__)
    parser.add_argument("--logins", type=int, default=300, help="sign-ins through the callback")
    parser.add_argument("--imports", type=int, default=15, help="cold imports of each kind")
    parser.add_argument("--save", action="store_true", help="write bench/results/sso.json")
    args = parser.parse_args(argv)

    stack, sandbox = start(students=300, teachers=20)
    try:
        bind_tables(get_settings())
        poll = stack.fire("InvitationPollFunction.PollSchedule")
        assert poll.ok, poll.error
        stack.drain(timeout_seconds=120)
        latency = measure_logins(stack, sandbox, args.logins)
        imports = measure_imports(dict(stack.environment), args.imports)
    finally:
        stack.stop()
        sandbox.stop()
    # What our code adds to the cold import beyond the libraries', in bare `import boto3`s; and how
    # much slower the first sign-in after init is than a warm one.
    own_seconds = imports["own_code_seconds"] - imports["one_dynamodb_client_seconds"]
    own_over_floor = round(own_seconds / imports["bare_boto3_seconds"], 2)
    first_over_warm = round(latency["own_ms"]["first_call"] / latency["own_ms"]["p50"], 2)
    result = {
        "benchmark": "sso",
        "callback": latency,
        "cold_import": imports,
        "goals": {"p99_ms": 50, "own_code_over_floor": 0.35, "first_over_warm_p50": 1.5},
        "own_code_over_floor": own_over_floor,
        "first_over_warm_p50": first_over_warm,
        "goals_met": latency["own_ms"]["p99"] < 50 and own_over_floor <= 0.35 and first_over_warm <= 1.5,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result), file=sys.__stdout__, flush=True)
    if args.save:
        (RESULTS / "sso.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
