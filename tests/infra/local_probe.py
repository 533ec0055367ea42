"""Handlers for the tests of the local stack's runtime (tests/infra/test_local_stack.py).

The local stack imports a handler module once per concurrent instance, so each instance has its
own globals. What the test and every instance share lives on instance 0's module, the one in
sys.modules: `_shared()` finds it by name from any copy.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

SHARED: dict[str, Any] = {}


def _shared() -> dict[str, Any]:
    shared: dict[str, Any] = sys.modules[__name__].SHARED
    return shared


def wait_for_peers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Succeeds only if `parties` invocations are running at the same time."""
    shared = _shared()
    with shared["lock"]:
        shared["instances"].add(id(globals()))
    barrier: threading.Barrier = shared["barrier"]
    barrier.wait(timeout=5)
    return {"batchItemFailures": []}


def overlap(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Takes a moment, so invocations that may overlap do."""
    time.sleep(0.05)
    return {"batchItemFailures": []}


def module_globals(event: dict[str, Any], context: Any) -> int:
    return id(globals())


def remaining_time(event: dict[str, Any], context: Any) -> list[int]:
    before = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    return [before, context.get_remaining_time_in_millis()]


def fail_every_record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def slow_first(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Message n=0 takes a second; the others return at once. Records the order they end in."""
    body = event["Records"][0]["body"]
    if '"n": 0' in body:
        time.sleep(1.0)
    shared = _shared()
    with shared["lock"]:
        shared["ended"].append(body)
    return {"batchItemFailures": []}
