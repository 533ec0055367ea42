"""How the worker's reports go out: the operator topic, e-mail to a district contact (SES, when
a sender is configured) and the district status page's signed link that a report carries."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable

from aws_lambda_powertools import Logger

from smartpass.operations.district_link import api_base_url, status_url
from smartpass.settings import Settings
from smartpass.sync.report import Report
from smartpass.text import one_line, printable
from smartpass_aws import clients as aws_clients
from smartpass_aws.link_keys import link_signing_key

logger = Logger()


# SNS refuses a Subject that is not ASCII, holds a control character or a line break, does not
# begin with a letter, a digit or a punctuation mark, or is 100 characters or longer.
SNS_SUBJECT_MAX = 99


def sns_subject(subject: str) -> str:
    """A subject SNS accepts, as close to `subject` as ASCII allows ("Peña" -> "Pena")."""
    ascii_text = unicodedata.normalize("NFKD", one_line(subject)).encode("ascii", "ignore").decode()
    text = one_line(ascii_text) or "SmartPass report"
    if not (text[0].isalnum() or text[0] in string.punctuation):
        text = f"SmartPass: {text}"
    return text if len(text) <= SNS_SUBJECT_MAX else text[: SNS_SUBJECT_MAX - 3].rstrip() + "..."


def publish_report(topic_arn: str, report: Report) -> None:
    """A report to a topic, with its attributes for subscribers that filter."""
    aws_clients.sns().publish(
        TopicArn=topic_arn,
        Subject=sns_subject(report.subject),
        Message=printable(report.text, line_breaks=True),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in report.attributes.items()},
    )


def emailer(settings: Settings) -> Callable[[str, Report], None] | None:
    if not settings.report_sender_email:
        return None

    def email(to: str, report: Report) -> None:
        aws_clients.ses().send_email(
            Source=settings.report_sender_email,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": one_line(report.subject)},
                "Body": {"Text": {"Data": printable(report.text, line_breaks=True)}},
            },
        )

    return email


def district_linker(settings: Settings) -> Callable[[str], str | None]:
    def district_link(tenant_id: str) -> str | None:
        """None when the API's address is not configured or the key cannot be read: a report
        goes out without its link rather than not at all."""
        if api_base_url(settings) is None:
            return None
        try:
            return status_url(tenant_id, link_signing_key(), settings)
        except Exception as exc:  # a report must never fail for its link
            logger.warning("district status link left out of the report", extra={"error": type(exc).__name__})
            return None

    return district_link
