"""Shared fixtures. Everything runs over real HTTP on loopback: moto server for AWS, the
ClassLink sandbox for ClassLink, the local HTTP API for the SSO routes.

The local stack is one per test session: handlers read their settings once per process (cold
start), exactly as in Lambda, so tests isolate by resetting state, not by new processes. The
`stack` fixture resets before and after each test (tests run in random order, pytest-randomly):
tables emptied, every queue emptied including in-flight messages, delivery counters and function
statistics zeroed, function timeouts back to the template's, sandbox faults cleared, Powertools
parameter caches cleared.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.latency import Latency
from classlink_sandbox.paging import Paging
from classlink_sandbox.server import SandboxServer
from local_stack import moto_partition_query
from local_stack.__main__ import start
from local_stack.stack import LocalStack

CHROMIUM = "/usr/bin/chromium"


# SQS (and moto, by default) refuses a second PurgeQueue of a queue within 60 s. Purging between
# tests is test scaffolding (no function purges), so moto server, which runs in this process,
# is told to allow it.
PURGE_SETTING = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"
QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@pytest.fixture(scope="session")
def system() -> Iterator[tuple[LocalStack, SandboxServer]]:
    previous = os.environ.get(PURGE_SETTING)
    os.environ[PURGE_SETTING] = "false"
    stack, sandbox = start(students=120, teachers=8)
    yield stack, sandbox
    stack.stop()
    sandbox.stop()
    if previous is None:
        os.environ.pop(PURGE_SETTING, None)
    else:
        os.environ[PURGE_SETTING] = previous


@pytest.fixture
def stack(system: tuple[LocalStack, SandboxServer]) -> Iterator[LocalStack]:
    local, sandbox = system
    _reset(local, sandbox)
    yield local
    _reset(local, sandbox)


@pytest.fixture
def stack_sandbox(system: tuple[LocalStack, SandboxServer], stack: LocalStack) -> SandboxServer:
    return system[1]


def _reset(stack: LocalStack, sandbox: SandboxServer) -> None:
    _empty_queues(stack)
    _empty_tables(stack)
    _delete_district_secrets(stack)
    stack.reset_counters()
    sandbox.app.faults.clear()
    # How the sandbox shapes and paces its pages, back to a plain server (tenants' own settings
    # go with the tenants a test added).
    sandbox.world.paging = Paging()
    sandbox.world.latency = Latency()
    for tenant in sandbox.world.tenants.values():
        tenant.paging = None
    sandbox.world.traffic.reset()
    if sandbox.app.oidc is not None:
        sandbox.app.oidc.claims_mode = "classlink"
    parameters.clear_caches()


def _empty_tables(stack: LocalStack) -> None:
    # moto server runs in this process: its tables are emptied in place, in one step, rather
    # than item by item over HTTP (which took 2.3 times as long as a 128-user sync).
    moto_partition_query.empty_tables()


def _delete_district_secrets(stack: LocalStack) -> None:
    """Onboarding creates one secret per district; the stack's own secrets stay."""
    secrets = stack.client("secretsmanager")
    prefix = stack.environment["DISTRICT_SECRET_PREFIX"]
    for page in secrets.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            if secret["Name"].startswith(prefix):
                secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)


def _empty_queues(stack: LocalStack) -> None:
    # A failed delivery leaves its records in flight (invisible for the 30-minute visibility
    # timeout), where receive-and-delete cannot reach them: release the ones the sources track,
    # then purge, which also removes in-flight messages nobody tracks (say, a test's own receive).
    for source in stack.sqs_sources:
        source.release_failed()
    sqs = stack.client("sqs")
    urls = sqs.list_queues().get("QueueUrls", [])
    for url in urls:
        sqs.purge_queue(QueueUrl=url)
    for url in urls:
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
        assert all(counts[name] == "0" for name in QUEUE_COUNTS), (url, counts)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of its own (no AWS), with one small district and an OAuth2 client."""
    server = SandboxServer().start()
    server.add_district(
        DistrictSpec(tenant_id=3001, name="Oak Ridge District", seed=7, students=60, teachers=6)
    )
    server.world.register_client(["http://127.0.0.1:9/callback"], client_id="test-client")
    yield server
    server.stop()


@pytest.fixture
def tenant_info(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.describe()["tenants"][0]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()
