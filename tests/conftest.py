"""Shared fixtures. Everything runs over real HTTP on loopback: moto server for AWS, the
ClassLink sandbox for ClassLink, the local HTTP API for the SSO routes.

The local stack is one per test session: handlers read their settings once per process (cold
start), exactly as in Lambda, so tests isolate by emptying tables, not by new processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer
from local_stack.__main__ import start
from local_stack.stack import LocalStack

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def system() -> Iterator[tuple[LocalStack, SandboxServer]]:
    stack, sandbox = start(students=120, teachers=8)
    yield stack, sandbox
    stack.stop()
    sandbox.stop()


@pytest.fixture
def stack(system: tuple[LocalStack, SandboxServer]) -> Iterator[LocalStack]:
    local, sandbox = system
    _empty_tables(local)
    _purge_queues(local)
    sandbox.app.faults.clear()
    yield local


@pytest.fixture
def stack_sandbox(system: tuple[LocalStack, SandboxServer], stack: LocalStack) -> SandboxServer:
    return system[1]


def _empty_tables(stack: LocalStack) -> None:
    dynamodb = stack.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})


def _purge_queues(stack: LocalStack) -> None:
    # PurgeQueue is limited to once a minute (moto enforces it as SQS does): receive and delete.
    sqs = stack.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


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
