"""`python -m classlink_sandbox`: the sandbox on its own, for any OneRoster or OAuth2 client.

Prints one JSON line (event classlink_sandbox_ready) with its base URLs, the partner API key, the
admin token, the OAuth2 client (`oauth_client`: client_id, client_secret, redirect_uris; always
registered), the paging and latency in force and each generated tenant's ids and credentials, then
serves until Ctrl-C or SIGTERM (both stop it cleanly with exit code 0).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.latency import Latency
from classlink_sandbox.paging import ALL, Paging
from classlink_sandbox.server import SandboxServer

PROG = "python -m classlink_sandbox"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    parser.add_argument("--districts", type=int, default=1, help="generated districts (default 1)")
    parser.add_argument("--students", type=int, default=300, help="students per district (default 300)")
    parser.add_argument("--teachers", type=int, default=20, help="teachers per district (default 20)")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the first district; district i uses seed+i (default 1)"
    )
    parser.add_argument(
        "--oauth1-only",
        action="store_true",
        help='every district is OAuth1-only: its /applications row has "bearer": null, the proxy '
        "answers 401, and GET /applications/{oneroster_application_id}/server gives its direct "
        "endpoint_url, client_id and client_secret",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="a redirect URI of the OAuth2 client (repeatable); the LaunchPad tile opens the first",
    )
    parser.add_argument(
        "--client-id", default=None, help="the OAuth2 client's client_id (default: a random one)"
    )
    parser.add_argument(
        "--client-secret", default=None, help="the OAuth2 client's client_secret (default: a random one)"
    )
    _serving_options(parser)
    return parser


def _serving_options(parser: argparse.ArgumentParser) -> None:
    """How pages are shaped and how long answers take, for every tenant (the admin routes
    /admin/paging, /admin/tenants/{id}/paging and /admin/latency change them while serving)."""
    parser.add_argument(
        "--page-cap",
        type=int,
        default=None,
        metavar="ROWS",
        help="OneRoster pages hold at most ROWS rows whatever `limit` asks (x-count and "
        "x-total-count stay right); default: no cap",
    )
    parser.add_argument(
        "--link-headers",
        action="store_true",
        help='send the OneRoster Link header (rel="next" absent on the last page, "last", "first", "prev")',
    )
    parser.add_argument("--no-total-count", action="store_true", help="leave x-total-count out of pages")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="wait this long on every OneRoster answer (default 0)"
    )
    parser.add_argument(
        "--latency-per-row-ms",
        type=float,
        default=0.0,
        help="and this long more for each row in the answer (default 0)",
    )


def _stop_on_sigterm() -> None:
    """SIGTERM (kill, a supervisor, `make` being stopped) ends the wait as Ctrl-C does."""

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, raise_interrupt)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.page_cap is not None and args.page_cap < 1) or min(args.latency_ms, args.latency_per_row_ms) < 0:
        parser.error("--page-cap must be at least 1 and latencies at least 0")
    _stop_on_sigterm()
    server = SandboxServer(port=args.port).start()
    server.world.paging = Paging(
        page_cap={} if args.page_cap is None else {ALL: args.page_cap},
        link_headers=args.link_headers,
        total_count=not args.no_total_count,
    )
    server.world.latency = Latency(args.latency_ms, args.latency_per_row_ms)
    try:
        for i in range(args.districts):
            server.add_district(
                DistrictSpec(
                    tenant_id=2001 + i,
                    name=f"Sandbox District {i + 1}",
                    seed=args.seed + i,
                    students=args.students,
                    teachers=args.teachers,
                    oauth1_only=args.oauth1_only,
                )
            )
        client = server.world.register_client(args.redirect_uri, args.client_id, args.client_secret)
        ready = {
            "event": "classlink_sandbox_ready",
            **server.describe(),
            "oauth_client": {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": client.redirect_uris,
            },
        }
        print(json.dumps(ready), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
