"""One requests.Session per client, with timeouts on every call and no payload in errors."""

from __future__ import annotations

from typing import Any

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


def get_json_object(
    session: requests.Session,
    url: str,
    name: str,
    *,
    headers: dict[str, str],
    timeout: tuple[float, float],
    params: dict[str, int] | None = None,
) -> dict[str, Any]:
    """GET a JSON object. `name` says which call in errors (never the URL: it may carry an id)."""
    try:
        response = session.get(url, params=params, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise ClassLinkError(f"{name} unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise ClassLinkError(f"{name} answered {response.status_code}", response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise ClassLinkError(f"{name} returned invalid JSON") from None
    if not isinstance(body, dict):
        raise ClassLinkError(f"{name} returned no JSON object")
    return body
