"""What the poll hands the onboarding domain: Secrets Manager for district connections, the
OneRoster connection check, the sync queue and the Partner API."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from nightly_sync.services import (
    oneroster_client,
    publish_report,
)  # the worker's client, so both read one way
from smartpass import aws_clients
from smartpass.data.districts import District
from smartpass.onboarding.connect import OnboardingServices
from smartpass.settings import Settings
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncRequest

CHECK_FIELDS = ("sourcedId",)


def write_secret(secret_id: str, value: Mapping[str, str]) -> None:
    """Create the district's secret the first time, put a new version after that: one secret per
    district, however often this runs."""
    client = aws_clients.secretsmanager()
    body = json.dumps(dict(value))
    try:
        client.create_secret(
            Name=secret_id,
            SecretString=body,
            Description="A district's ClassLink OneRoster connection (SmartPass onboarding)",
            Tags=[{"Key": "app", "Value": "smartpass-classlink"}],
        )
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=secret_id, SecretString=body)


def build_services(settings: Settings, time_left: Callable[[], float]) -> OnboardingServices:
    def verify(district: District) -> None:
        # The cheapest proof that the credentials work: one org, one field.
        client = oneroster_client(settings, district, time_left, fresh=True)
        client.page("orgs", "orgs", offset=0, limit=1, fields=CHECK_FIELDS)

    def send(request: SyncRequest) -> None:
        aws_clients.sqs().send_message(
            QueueUrl=settings.sync_queue_url, MessageBody=request.model_dump_json()
        )

    def notify(report: Report) -> None:
        publish_report(settings.operator_topic_arn, report)

    return OnboardingServices(
        secret_prefix=settings.district_secret_prefix,
        write_secret=write_secret,
        verify=verify,
        send=send,
        notify=notify,
    )
