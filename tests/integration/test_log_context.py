"""Log context never leaks from one invocation or function to the next. In Lambda each function
is its own process; the local stack runs them all in one, sharing one Powertools logger, so a
handler that did not reset the logger's keys would stamp the last HTTP request's correlation id
on a schedule's log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests
from aws_lambda_powertools import Logger

from local_stack.stack import LocalStack

SERVICE = "smartpass-classlink"  # POWERTOOLS_SERVICE_NAME (template Globals)


class Lines(logging.Handler):
    """Every record, formatted by the Powertools formatter, as a dict."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines(stack: LocalStack) -> Iterator[Lines]:
    powertools = Logger(service=SERVICE)  # the handlers' logger (one per service name)
    shared = logging.getLogger(SERVICE)
    handler = Lines(powertools.registered_formatter)  # type: ignore[arg-type]
    shared.addHandler(handler)
    yield handler
    shared.removeHandler(handler)


def test_a_schedule_after_an_http_request_logs_without_its_correlation_id(
    stack: LocalStack, lines: Lines
) -> None:
    assert stack.gateway is not None
    sent = requests.get(f"{stack.gateway.url}/sso/classlink/launch", allow_redirects=False, timeout=10)
    assert sent.status_code in (302, 303)
    # The SSO function set its request's id on the shared logger...
    assert Logger(service=SERVICE).get_correlation_id()
    outcome = stack.fire("NightlySyncFanoutFunction.NightlySchedule")
    assert outcome.ok, outcome.error
    fanout = [line for line in lines.lines if line.get("message") == "nightly fan-out done"]
    assert len(fanout) == 1
    # ...and the fan-out's line carries its own context only.
    assert "correlation_id" not in fanout[0]
    assert "NightlySyncFanout" in str(fanout[0]["function_name"])
