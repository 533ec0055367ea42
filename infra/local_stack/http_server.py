"""A threaded WSGI server on loopback, on a port of its own (0: any free one), served on a daemon
thread: the local HTTP API and the stand-in app each run one."""

from __future__ import annotations

import functools
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


class LoopbackServer:
    def __init__(self, app: Any, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.origin = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=functools.partial(self._server.serve_forever, poll_interval=0.05), name=name, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
