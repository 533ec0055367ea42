"""`python -m local_stack`: the whole system on this machine, with no AWS account.

Starts moto server (embedded AWS), the ClassLink sandbox with a generated district, creates
every resource of template.yaml, and delivers schedule ticks, SQS and SNS messages and HTTP
requests to the real handlers. Prints one JSON line saying where everything is. With --once it
runs a scripted pass, prints a JSON summary and exits 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer
from classlink_sandbox.world import OAuthClient
from local_stack import ready_file
from local_stack.once import run_once
from local_stack.stack import ClassLinkEndpoints, LocalStack
from local_stack.story import Story
from smartpass.data.stores import dynamo_stores


def start(
    students: int = 300, teachers: int = 20, seed: int = 1, http_port: int = 0
) -> tuple[LocalStack, SandboxServer]:
    sandbox = SandboxServer().start()
    sandbox.add_district(
        DistrictSpec(
            tenant_id=2001,
            name="Maple Valley Schools",
            seed=seed,
            students=students,
            teachers=teachers,
            share_unenrolled=True,
        )
    )
    endpoints, client = sandbox_endpoints(sandbox)
    stack = LocalStack(endpoints, http_port=http_port).start()
    # The redirect URI is known once the local HTTP API has its port, as after `sam deploy`.
    assert stack.gateway is not None
    client.redirect_uris.append(f"{stack.gateway.url}/sso/classlink/callback")
    return stack, sandbox


def sandbox_endpoints(sandbox: SandboxServer) -> tuple[ClassLinkEndpoints, OAuthClient]:
    """The sandbox's URLs and partner key, and an OAuth2 client registered for us (its redirect
    URI is added once the local HTTP API has a port)."""
    client = sandbox.world.register_client([])
    info = sandbox.describe()
    endpoints = ClassLinkEndpoints(
        partner_api_url=info["partner_api_url"],
        oneroster_proxy_url=info["oneroster_proxy_url"],
        launchpad_url=info["launchpad_url"],
        nodeapi_url=info["nodeapi_url"],
        partner_api_key=info["partner_api_key"],
        sso_client_id=client.client_id,
        sso_client_secret=client.client_secret,
    )
    return endpoints, client


CONFIG_KEYS = (
    "partner_api_url",
    "oneroster_proxy_url",
    "launchpad_url",
    "nodeapi_url",
    "partner_api_key",
    "sso_client_id",
    "sso_client_secret",
)
POLL_SCHEDULE = "InvitationPollFunction.PollSchedule"
NIGHTLY_SCHEDULE = "NightlySyncFanoutFunction.NightlySchedule"
# The story's line for each schedule's tick (what its function answered, when it fires next).
TICK_EVENTS = {POLL_SCHEDULE: "classlink_polled", NIGHTLY_SCHEDULE: "nightly_fan_out"}


def load_classlink_config(path: str) -> ClassLinkEndpoints:
    """Another ClassLink (ClassLink's own test tenant, or any stand-in), from a JSON file with
    exactly what an operator would configure; everything else is found where ClassLink
    publishes it (Partner API /applications/{id}/server, OIDC discovery)."""
    try:
        with open(path, encoding="utf-8") as handle:  # noqa: PTH123 (a path from the command line)
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--classlink-config {path}: cannot read it as JSON ({exc})") from None
    missing = [key for key in CONFIG_KEYS if not isinstance(config.get(key), str) or not config[key]]
    if missing:
        raise SystemExit(f"--classlink-config {path}: missing or empty: {', '.join(missing)}")
    return ClassLinkEndpoints(**{key: config[key] for key in CONFIG_KEYS})


def emit(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, default=str) + "\n")
    out.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack",
        description="SmartPass's ClassLink integration on this machine: moto server as AWS, the ClassLink "
        "sandbox (or --classlink-config), and the real handlers. stdout is JSON lines: first "
        "local_stack_ready, then one line per step (district discovered, connected, sync started and "
        "finished, findings, report sent), one per poll and nightly fan-out, and local_stack_stopped "
        "at the end; with --once the last is local_stack_summary. Logs go to stderr.",
    )
    parser.add_argument(
        "--once", action="store_true", help="run the scripted pass, print a summary line, exit"
    )
    parser.add_argument(
        "--classlink-config",
        metavar="FILE",
        help="use another ClassLink instead of starting the sandbox: a JSON file with "
        + ", ".join(CONFIG_KEYS),
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=60.0,
        help="seconds between Partner API polls; the first runs at start (default: %(default)g, "
        "as in production)",
    )
    parser.add_argument(
        "--nightly-seconds",
        type=float,
        default=3600.0,
        help="seconds between nightly sync fan-outs (default: %(default)g; production: once a night)",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=0,
        help="port of the local HTTP API (default: a free one); fixes the redirect URI to register "
        "with another ClassLink: http://127.0.0.1:PORT/sso/classlink/callback",
    )
    parser.add_argument(
        "--ready-file",
        default=".local-stack.json",
        metavar="FILE",
        help="where to write the ready line plus the functions' environment, for smartpass-ops "
        "(default: %(default)s; removed at exit; another stack running in this folder keeps its "
        "file and this one writes its own beside it)",
    )
    parser.add_argument(
        "--students", type=int, default=300, help="students in the sandbox district (default: %(default)s)"
    )
    parser.add_argument(
        "--teachers", type=int, default=20, help="teachers in the sandbox district (default: %(default)s)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    # stdout carries only this program's JSON lines; the functions' logs and metrics (what
    # CloudWatch would hold) go to stderr, with a few lines for the person watching.
    out = sys.stdout
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines of moto and the servers

    ready_path, note = ready_file.claim(args.ready_file)
    if note:
        say(note)
    say("starting: moto server, the ClassLink sandbox and every resource of template.yaml (a few seconds)")
    sandbox: SandboxServer | None = None
    written: Path | None = None
    if args.classlink_config:
        stack = LocalStack(load_classlink_config(args.classlink_config), http_port=args.http_port).start()
        classlink: dict[str, Any] = {"source": args.classlink_config, **_public(stack.classlink)}
    else:
        stack, sandbox = start(args.students, args.teachers, http_port=args.http_port)
        classlink = {
            "source": "sandbox",
            **_public(stack.classlink),
            "launchpad": f"{sandbox.base_url}/launchpad/",
        }
    stopped_by = "Ctrl-C"
    try:
        ready: dict[str, Any] = {
            "event": "local_stack_ready",
            **stack.describe(),
            "classlink": classlink,
            "ready_file": str(ready_path),
        }
        if sandbox is not None:
            ready["classlink_sandbox"] = sandbox.describe()
        # The file first: once the ready line is out, smartpass-ops finds the stack.
        written = ready_file.write(ready_path, ready, stack.environment)
        emit(out, ready)
        story = Story(
            dynamo_stores(),
            stack.client("sqs"),
            stack.client("sns"),
            stack.ref("OperatorTopic"),
            lambda line: emit(out, line),
        )
        if args.once:
            summary = run_once(stack, story)
            emit(out, summary)
            return 0 if summary["ok"] else 1
        say(f"ready; smartpass-ops in this folder reads {ready_path}. Ctrl-C stops it.")

        def on_sigterm(*_: object) -> None:
            # `kill` (SIGTERM) stops as Ctrl-C does: at once while idle, else after this round.
            nonlocal stopped_by
            stopped_by = "SIGTERM"
            stack.request_stop()
            if stack.waiting:
                raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_sigterm)
        intervals = {POLL_SCHEDULE: args.poll_seconds, NIGHTLY_SCHEDULE: args.nightly_seconds}
        stack.run_forever(
            intervals,
            fire_at_start=[POLL_SCHEDULE],
            on_progress=story.poll,
            on_fire=lambda name, outcome: story.tick(TICK_EVENTS[name], outcome, intervals[name]),
        )
    except KeyboardInterrupt:
        pass
    finally:
        if written is not None:
            ready_file.release(written)
        stack.stop()
        if sandbox is not None:
            sandbox.stop()
    emit(out, {"event": "local_stack_stopped", "at": datetime.now(UTC).isoformat(), "by": stopped_by})
    return 0


def say(line: str) -> None:
    """A line for the person watching (stderr: stdout is JSON lines only)."""
    print(f"local stack: {line}", file=sys.stderr, flush=True)


def write_ready_file(path: str, ready: dict[str, Any], stack: LocalStack) -> Path:
    """The ready file of `stack` at `path` (ready_file.py), as smartpass-ops reads it."""
    return ready_file.write(Path(path), ready, stack.environment)


def _public(classlink: ClassLinkEndpoints) -> dict[str, str]:
    """Where ClassLink is, without its secrets (the ready line is printed)."""
    return {k: v for k, v in vars(classlink).items() if k.endswith("_url") or k == "sso_client_id"}


if __name__ == "__main__":
    sys.exit(main())
