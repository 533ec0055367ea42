"""Helpers for the onboarding tests: polls through the real handler or the domain with the
handler's own services, the operator's inbox, a district's history and secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.utilities import parameters

from classlink_sandbox.changes import apply_change
from classlink_sandbox.generator import DistrictSpec, generate
from classlink_sandbox.server import SandboxServer
from classlink_sandbox.world import Tenant
from local_stack.stack import LocalStack
from local_stack.story import Story
from smartpass.classlink.partner_api import PartnerApiClient
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District
from smartpass.data.stores import dynamo_stores
from smartpass.onboarding.connect import OnboardingServices
from smartpass.onboarding.discovery import DiscoveryResult, reconcile_districts
from smartpass.settings import get_settings
from smartpass_aws.onboarding_services import build_services

POLL = "InvitationPollFunction.PollSchedule"
SMALL = {"students": 10, "teachers": 2}


def poll(stack: LocalStack, drain: bool = True) -> dict[str, Any]:
    """One scheduled poll through the real handler; then the queued syncs run (unless not)."""
    outcome = stack.fire(POLL)
    assert outcome.ok, outcome.error
    if drain:
        stack.drain(timeout_seconds=300)
    return dict(outcome.result)


def domain_poll(stack: LocalStack, services: OnboardingServices | None = None) -> DiscoveryResult:
    """The poll's domain call with the handler's own services (or stand-ins for a crash)."""
    settings = get_settings()
    partner = PartnerApiClient(settings.classlink_partner_api_url, stack.classlink.partner_api_key)
    parameters.clear_caches()
    return reconcile_districts(
        partner.applications(),
        District.scan(),
        services or build_services(settings, lambda: 60.0),
        partner.server,
    )


def inbox(stack: LocalStack) -> Story:
    """A queue subscribed to the operator topic, as an operator's e-mail would be."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    return Story(dynamo_stores(), sqs, sns, stack.ref("OperatorTopic"), lambda line: None)


def history(tenant_id: str) -> list[DistrictEvent]:
    return sorted(DistrictEvent.query(tenant_id), key=lambda e: e.event_id)


def district_secrets(stack: LocalStack, tenant_id: str) -> list[dict[str, Any]]:
    secrets = stack.client("secretsmanager")
    name = stack.environment["DISTRICT_SECRET_PREFIX"] + tenant_id
    found = [s for page in secrets.get_paginator("list_secrets").paginate() for s in page["SecretList"]]
    return [
        json.loads(secrets.get_secret_value(SecretId=s["ARN"])["SecretString"])
        for s in found
        if s["Name"] == name
    ]


@contextmanager
def changed(
    sandbox: SandboxServer, tenant_id: int, change: dict[str, Any], undo: dict[str, Any]
) -> Iterator[None]:
    """A sandbox change for the length of a test (the sandbox is shared by the session)."""
    tenant = sandbox.world.tenants[tenant_id]
    apply_change(tenant, change)
    try:
        yield
    finally:
        apply_change(tenant, undo)


@contextmanager
def another_district(sandbox: SandboxServer, tenant_id: int = 2002, **spec: Any) -> Iterator[Tenant]:
    """A second tenant listed in the Partner API for the length of a test (so removing the
    first is not an empty list, which the poll rightly distrusts)."""
    tenant = sandbox.world.add_tenant(
        generate(
            DistrictSpec(
                tenant_id=tenant_id, name=f"District {tenant_id}", **{"students": 10, "teachers": 2, **spec}
            )
        )
    )
    apply_change(tenant, {"op": "add_app"})
    apply_change(tenant, {"op": "enable_sharing"})
    try:
        yield tenant
    finally:
        apply_change(tenant, {"op": "remove_app"})
