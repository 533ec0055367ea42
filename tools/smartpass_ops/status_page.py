"""`smartpass-ops status-page open`: the operator status page in a browser, through a local
proxy that signs with the operator's AWS credentials (signing_proxy.py; imported when the command
runs, so other commands do not pay for it)."""

from __future__ import annotations

import sys
import threading
import webbrowser
from typing import Annotated

import typer

from smartpass_ops import render
from smartpass_ops.context import target

app = typer.Typer(help="Open the operator status page.", no_args_is_help=True)
DEFAULT_PORT = 8787


@app.command("open")
def open_(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="local port of the proxy (0: any free port)")] = DEFAULT_PORT,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the URL only")] = False,
) -> None:
    """Serve the status page on 127.0.0.1 through a proxy that signs with your AWS credentials
    (the page is behind IAM); opens it in your browser. Ctrl-C stops it."""
    from smartpass_ops.signing_proxy import STATUS_PATH, ProxyError, SigningProxy

    t = target(ctx)
    region = t.session.region_name
    if not region:
        render.fail("no AWS region: set AWS_REGION (or --region) to the stack's region")
    try:
        proxy = SigningProxy(t.http_api_url, t.session, region, port).start()
    except ProxyError as exc:
        render.fail(str(exc))
    url = f"{proxy.url}{STATUS_PATH}"
    render.out().print(f"Status page of {t.name}, signed with your AWS credentials (Ctrl-C stops):")
    print(url, flush=True)  # on a line of its own, unwrapped, for scripts and terminals
    sys.stdout.flush()
    if not no_browser:
        webbrowser.open(url)
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
