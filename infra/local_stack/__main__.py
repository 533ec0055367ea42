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
from pathlib import Path
from typing import Any, TextIO

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer
from classlink_sandbox.world import OAuthClient
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
        "finished, findings, report sent); with --once the last is local_stack_summary. Logs go to stderr.",
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
        help="seconds between Partner API polls (the first runs at start; production: 60)",
    )
    parser.add_argument(
        "--nightly-seconds",
        type=float,
        default=3600.0,
        help="seconds between nightly sync fan-outs (production: once a night)",
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
        "(default: .local-stack.json; removed at exit)",
    )
    parser.add_argument("--students", type=int, default=300, help="students in the sandbox district")
    parser.add_argument("--teachers", type=int, default=20, help="teachers in the sandbox district")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    # stdout carries only this program's JSON lines; the functions' logs and metrics (what
    # CloudWatch would hold) go to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines of moto and the servers

    sandbox: SandboxServer | None = None
    ready_file: Path | None = None
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
    try:
        ready: dict[str, Any] = {"event": "local_stack_ready", **stack.describe(), "classlink": classlink}
        if sandbox is not None:
            ready["classlink_sandbox"] = sandbox.describe()
        emit(out, ready)
        ready_file = write_ready_file(args.ready_file, ready, stack)
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
        # `kill` (SIGTERM) stops as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: stack.request_stop())
        stack.run_forever(
            {POLL_SCHEDULE: args.poll_seconds, NIGHTLY_SCHEDULE: args.nightly_seconds},
            fire_at_start=[POLL_SCHEDULE],
            on_progress=story.poll,
        )
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        stack.stop()
        if sandbox is not None:
            sandbox.stop()


def write_ready_file(path: str, ready: dict[str, Any], stack: LocalStack) -> Path:
    """The ready line and the functions' environment (names of tables, queues and secrets, no
    secret values), so smartpass-ops binds exactly what the handlers use."""
    target = Path(path)
    target.touch(mode=0o600)  # it names the sandbox's test credentials too: this user only
    target.chmod(0o600)
    target.write_text(json.dumps({**ready, "environment": stack.environment}, indent=2))
    return target


def _public(classlink: ClassLinkEndpoints) -> dict[str, str]:
    """Where ClassLink is, without its secrets (the ready line is printed)."""
    return {k: v for k, v in vars(classlink).items() if k.endswith("_url") or k == "sso_client_id"}


if __name__ == "__main__":
    sys.exit(main())
