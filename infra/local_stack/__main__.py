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
from typing import Any, TextIO

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer
from classlink_sandbox.world import OAuthClient
from local_stack.once import run_once
from local_stack.stack import ClassLinkEndpoints, LocalStack


def start(students: int = 300, teachers: int = 20, seed: int = 1) -> tuple[LocalStack, SandboxServer]:
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
    stack = LocalStack(endpoints).start()
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


def emit(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, default=str) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="run the scripted pass, print a summary, exit")
    parser.add_argument("--tick-seconds", type=float, default=300.0, help="interval between schedule ticks")
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--teachers", type=int, default=20)
    args = parser.parse_args(argv)

    # stdout carries only this program's JSON lines; the functions' logs and metrics (what
    # CloudWatch would hold) go to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines of moto and the servers

    stack, sandbox = start(args.students, args.teachers)
    try:
        emit(
            out,
            {
                "event": "local_stack_ready",
                **stack.describe(),
                "classlink_sandbox": sandbox.describe(),
                "launchpad": f"{sandbox.base_url}/launchpad/",
            },
        )
        if args.once:
            summary = run_once(stack)
            emit(out, summary)
            return 0 if summary["ok"] else 1
        # `kill` (SIGTERM) stops as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: stack.request_stop())
        stack.run_forever(args.tick_seconds)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
