"""One requests.Session per client, with timeouts on every call and no payload in errors."""

from __future__ import annotations

import requests

DEFAULT_TIMEOUT = (5.0, 60.0)  # connect, read (seconds)
USER_AGENT = "SmartPass-ClassLink/0.1"


class ClassLinkError(RuntimeError):
    """A ClassLink call failed. The message names the call and status, never a body or token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session
