"""What the worker hands the sync domain: ClassLink connections read from Secrets Manager
(Powertools Parameters, cached), the sync queue for continuations and deferrals, and the
operator topic.

A 401 from the OneRoster proxy asks for fresh credentials once per request (classlink-facts B5):
first the district's secret read afresh (onboarding's poll may have stored a rotated bearer), and
when it still holds the bearer that was refused, the district's row of the Partner API's
`/applications`: if its bearer changed, the request is retried with it. The new bearer is used
for this run only; the poll stores it in the secret (and records the rotation) as before."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities import parameters

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oneroster import Connection, OneRosterClient, ProxyConnection, RetryPolicy
from smartpass.classlink.partner_api import ApplicationRow, PartnerApiClient
from smartpass.data.districts import District
from smartpass.data.stores import Stores, dynamo_stores
from smartpass.settings import Settings
from smartpass.sync.connection import ConnectionUnavailable, connection_from_secret, district_secret_id
from smartpass.sync.report import Report
from smartpass.sync.requests import SyncRequest
from smartpass.sync.services import SyncServices
from smartpass_aws import clients as aws_clients
from smartpass_aws import reports as reporting

SECRET_MAX_AGE = 300  # seconds a district's credentials are cached in the warm function
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT_MAX = 60.0


def read_connection(settings: Settings, district: District, fresh: bool) -> Connection:
    secret_id = district.credentials_secret_id or district_secret_id(
        settings.district_secret_prefix, district.tenant_id
    )
    try:
        secret = parameters.get_secret(secret_id, transform="json", max_age=SECRET_MAX_AGE, force_fetch=fresh)
    except (parameters.exceptions.GetParameterError, parameters.exceptions.TransformParameterError):
        raise ConnectionUnavailable(
            f"the district's connection secret {secret_id} cannot be read; onboarding stores it"
        ) from None
    return connection_from_secret(
        secret, settings.classlink_oneroster_proxy_url, district.oneroster_application_id
    )


def oneroster_client(
    settings: Settings, district: District, time_left: Callable[[], float], fresh: bool = False
) -> OneRosterClient:
    """The district's OneRoster client (also used by onboarding's connection check, with
    `fresh` so a secret it has just written is read, not a cached one)."""
    first = read_connection(settings, district, fresh)

    def refresh() -> Connection | None:
        stored = _or_none(lambda: read_connection(settings, district, True))
        if stored is not None and stored != first:
            return stored  # the poll has stored the rotated credentials already
        return listed_connection(settings, district, stored or first)

    return OneRosterClient(
        first,
        refresh_connection=refresh,
        retry=RetryPolicy(
            max_retries=settings.oneroster_max_retries,
            backoff_seconds=settings.oneroster_backoff_seconds,
        ),
        timeout=(CONNECT_TIMEOUT, READ_TIMEOUT_MAX),
        # No read or retry wait may outlive the invocation: the client stops in time to
        # let the run checkpoint instead.
        time_left=time_left,
    )


def build_services(
    settings: Settings, time_left: Callable[[], float], stores: Stores | None = None
) -> SyncServices:
    def connect(district: District) -> OneRosterClient:
        return oneroster_client(settings, district, time_left)

    def send(request: SyncRequest, delay_seconds: int) -> None:
        aws_clients.sqs().send_message(
            QueueUrl=settings.sync_queue_url,
            MessageBody=request.model_dump_json(),
            DelaySeconds=delay_seconds,
        )

    def notify(report: Report) -> None:
        reporting.publish_report(settings.operator_topic_arn, report)

    return SyncServices(
        stores=stores or dynamo_stores(),
        connect=connect,
        send=send,
        notify=notify,
        email=reporting.emailer(settings),
        district_link=reporting.district_linker(settings),
    )


def listed_connection(settings: Settings, district: District, refused: Connection) -> Connection | None:
    """The proxy connection with the bearer ClassLink now lists for the district, when it
    differs from the refused one; None otherwise (the 401 then stands: sharing was disabled, or
    the app removed). OAuth1 connections have no listed credentials to fetch."""
    if not isinstance(refused, ProxyConnection):
        return None
    try:
        key = parameters.get_secret(
            settings.partner_api_key_secret_id, transform="json", max_age=SECRET_MAX_AGE
        )
        partner = PartnerApiClient(settings.classlink_partner_api_url, str(key["api_key"]))
        row = next(
            (
                r
                for r in partner.applications()
                if isinstance(r, ApplicationRow) and r.tenant_id == district.tenant_id
            ),
            None,
        )
    except (
        ClassLinkError,
        parameters.exceptions.GetParameterError,
        parameters.exceptions.TransformParameterError,
        KeyError,
        TypeError,
    ):
        return None
    if row is None or not row.is_live or not row.bearer or row.bearer == refused.bearer:
        return None
    return ProxyConnection(
        proxy_url=refused.proxy_url, application_id=row.oneroster_application_id, bearer=row.bearer
    )


def _or_none(read: Callable[[], Connection]) -> Connection | None:
    """A refresh that cannot read the secret is no fresh connection (the 401 then stands)."""
    try:
        return read()
    except ConnectionUnavailable:
        return None
