"""`python -m classlink_sandbox`: the sandbox on its own, for any OneRoster or OAuth2 client.

Prints one JSON line with its base URLs, the partner API key, the OAuth2 client and each
generated tenant's ids and credentials, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--districts", type=int, default=1)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--teachers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="register an OAuth2 client with this redirect URI (repeatable)",
    )
    args = parser.parse_args(argv)

    server = SandboxServer(port=args.port).start()
    for i in range(args.districts):
        server.add_district(
            DistrictSpec(
                tenant_id=2001 + i,
                name=f"Sandbox District {i + 1}",
                seed=args.seed + i,
                students=args.students,
                teachers=args.teachers,
            )
        )
    if args.redirect_uri:
        server.world.register_client(args.redirect_uri)
    print(json.dumps({"event": "classlink_sandbox_ready", **server.describe()}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
