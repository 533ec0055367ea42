"""Helpers for the sync tests: a connected district, sync requests, SDK-level write counting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities import parameters
from bench.sdk_writes import count_writes

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import ConnectionMode, District, DistrictState

TENANT = "2001"


def connect_district(
    stack: LocalStack,
    sandbox: SandboxServer,
    tenant_id: str = TENANT,
    *,
    mode: str = "proxy",
    state: str = DistrictState.CONNECTING.value,
    **settings: Any,
) -> District:
    """What onboarding leaves behind: a District row and its connection secret."""
    tenant = sandbox.world.tenants[int(tenant_id)]
    info = next(t for t in sandbox.describe()["tenants"] if t["tenant_id"] == tenant.tenant_id)
    if mode == "proxy":
        secret = {
            "mode": "proxy",
            "bearer": tenant.bearer,
            "oneroster_application_id": tenant.oneroster_application_id,
        }
    else:
        secret = {
            "mode": "oauth1",
            "client_id": tenant.oauth1_key,
            "client_secret": tenant.oauth1_secret,
            "endpoint_url": info["endpoint_url"],
        }
    secret_id = stack.environment["DISTRICT_SECRET_PREFIX"] + tenant_id
    put_secret(stack, secret_id, secret)
    district = District(
        tenant_id=tenant_id,
        name=tenant.name,
        state=state,
        connection_mode=ConnectionMode(mode).value,
        credentials_secret_id=secret_id,
        oneroster_application_id=tenant.oneroster_application_id,
    )
    for key, value in settings.items():
        setattr(district.sync_settings, key, value)
    district.save()
    return district


def put_secret(stack: LocalStack, secret_id: str, value: dict[str, Any]) -> None:
    secrets = stack.client("secretsmanager")
    try:
        secrets.put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=secret_id, SecretString=json.dumps(value))
    parameters.clear_caches()


def request(kind: str = "manual", trigger: str = "t-1", tenant: str = TENANT, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "kind": kind,
        "trigger": trigger,
        "requested_at": extra.pop("requested_at", datetime.now(UTC).isoformat()),
        **extra,
    }


def send(stack: LocalStack, body: dict[str, Any] | str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    stack.client("sqs").send_message(QueueUrl=stack.environment["SYNC_QUEUE_URL"], MessageBody=text)


def sync(stack: LocalStack, **kwargs: Any) -> None:
    send(stack, request(**kwargs))
    stack.drain(timeout_seconds=120)


__all__ = ["TENANT", "connect_district", "count_writes", "put_secret", "request", "send", "sync"]
