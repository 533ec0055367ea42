"""What the poll hands the onboarding domain: Secrets Manager for district connections, the
OneRoster connection check, the sync queue and the Partner API."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from smartpass.classlink.oneroster import OneRosterClient, RetryPolicy
from smartpass.data.districts import District
from smartpass.data.stores import Stores, dynamo_stores
from smartpass.onboarding.connect import OnboardingServices
from smartpass.onboarding.credentials import SecretValue
from smartpass.settings import Settings
from smartpass.sync.connection import connection_from_secret
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncRequest
from smartpass_aws import clients as aws_clients
from smartpass_aws.reports import publish_report  # one way to publish a report

CHECK_FIELDS = ("sourcedId",)
CHECK_RETRIES = 1
CHECK_TIMEOUT = (3.05, 10.0)  # connect, read: a check takes at most about 15 s with its retry


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


def read_secret(secret_id: str) -> SecretValue:
    """The district's connection as onboarding stored it (never printed or logged)."""
    value = aws_clients.secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise ValueError("the connection secret is not a JSON object")
    return {str(k): str(v) for k, v in parsed.items()}


def build_services(
    settings: Settings, time_left: Callable[[], float], stores: Stores | None = None
) -> OnboardingServices:
    def verify(district: District, credentials: Mapping[str, str]) -> None:
        # The cheapest proof that the credentials work: one org, one field; with the
        # credentials in hand (a secret read back may be stale) and a short retry policy, so one
        # slow district cannot use up the poll.
        connection = connection_from_secret(
            credentials, settings.classlink_oneroster_proxy_url, district.oneroster_application_id
        )
        client = OneRosterClient(
            connection,
            retry=RetryPolicy(max_retries=CHECK_RETRIES, backoff_seconds=settings.oneroster_backoff_seconds),
            timeout=CHECK_TIMEOUT,
            time_left=time_left,
        )
        client.page("orgs", "orgs", offset=0, limit=1, fields=CHECK_FIELDS)

    def send(request: SyncRequest) -> None:
        aws_clients.sqs().send_message(
            QueueUrl=settings.sync_queue_url, MessageBody=request.model_dump_json()
        )

    def notify(report: Report) -> None:
        publish_report(settings.operator_topic_arn, report)

    return OnboardingServices(
        stores=stores or dynamo_stores(),
        secret_prefix=settings.district_secret_prefix,
        write_secret=write_secret,
        verify=verify,
        send=send,
        notify=notify,
        read_secret=read_secret,
    )
