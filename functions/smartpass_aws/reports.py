"""How the worker's reports go out: the operator topic, e-mail to a district contact (SES, when
a sender is configured) and the district status page's signed link that a report carries."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger

from smartpass.operations.district_link import api_base_url, status_url
from smartpass.settings import Settings
from smartpass.sync.report import Report
from smartpass_aws import clients as aws_clients
from smartpass_aws.signing_keys import signing_key  # one way to read the signing key

logger = Logger()


def publish_report(topic_arn: str, report: Report) -> None:
    """A report to a topic, with its attributes for subscribers that filter."""
    aws_clients.sns().publish(
        TopicArn=topic_arn,
        Subject=report.subject,
        Message=report.text,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in report.attributes.items()},
    )


def emailer(settings: Settings) -> Callable[[str, Report], None] | None:
    if not settings.report_sender_email:
        return None

    def email(to: str, report: Report) -> None:
        aws_clients.ses().send_email(
            Source=settings.report_sender_email,
            Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": report.subject}, "Body": {"Text": {"Data": report.text}}},
        )

    return email


def district_linker(settings: Settings) -> Callable[[str], str | None]:
    def district_link(tenant_id: str) -> str | None:
        """None when the API's address is not configured or the key cannot be read: a report
        goes out without its link rather than not at all."""
        if api_base_url(settings) is None:
            return None
        try:
            return status_url(tenant_id, signing_key(), settings)
        except Exception as exc:  # a report must never fail for its link
            logger.warning("district status link left out of the report", extra={"error": type(exc).__name__})
            return None

    return district_link
