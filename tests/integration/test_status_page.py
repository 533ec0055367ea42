"""The status pages through the local HTTP API: the operator page behind the AWS_IAM authorizer
(a SigV4-signed request gets in; unsigned, wrongly signed, stale or replayed-elsewhere requests
get API Gateway's 403 and never reach the function), and the district page opened with the
signed link from the district's own report."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.ses.models import ses_backends

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.lambda_events import ACCOUNT_ID
from local_stack.stack import LOCAL_AWS_ENV, REGION, LocalStack
from smartpass.data.districts import District
from smartpass.data.sync_runs import SyncRun
from smartpass.operations.district_link import LINK_TTL, make_token, status_url
from smartpass.settings import get_settings
from smartpass.sso.session import SigningKey
from tests.integration.onboarding_helpers import poll
from tests.integration.sync_helpers import TENANT, sync

CONSOLE = "OperatorConsoleFunction"
SERVICE = "smartpass-classlink"  # POWERTOOLS_SERVICE_NAME (template Globals)
LOCAL = Credentials(
    LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
    LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    LOCAL_AWS_ENV["AWS_SESSION_TOKEN"],
)


def signed_get(
    stack: LocalStack,
    path: str,
    credentials: Credentials = LOCAL,
    at: datetime | None = None,
    service: str = "execute-api",
    send_to: str | None = None,
) -> requests.Response:
    """GET `path` signed as an operator's SDK would sign it (botocore), optionally at another
    time, with other credentials, or signed for one path and sent to another."""
    assert stack.gateway is not None
    url = f"{stack.gateway.url}{path}"
    request = AWSRequest(method="GET", url=url, headers={"Host": urlsplit(url).netloc})
    signer = SigV4Auth(credentials, service, REGION)
    if at is None:
        signer.add_auth(request)
    else:  # botocore signs "now": tell it another now, for this signature only
        with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
            signer.add_auth(request)
    target = f"{stack.gateway.url}{send_to}" if send_to else url
    return requests.get(target, headers=dict(request.headers.items()), timeout=30)


def _console_calls(stack: LocalStack) -> int:
    return sum(stack.functions[CONSOLE].stats.values())


def _signing_key(stack: LocalStack) -> SigningKey:
    secret = stack.client("secretsmanager").get_secret_value(
        SecretId=stack.environment["DISTRICT_LINK_SIGNING_KEY_SECRET_ID"]
    )
    return SigningKey.from_secret(json.loads(secret["SecretString"]))


@pytest.fixture
def held(stack: LocalStack, stack_sandbox: SandboxServer) -> Iterator[SyncRun]:
    """The sandbox district onboarded (initial sync), then a nightly run held: ClassLink sent
    no users, which is never applied."""
    poll(stack)
    stack_sandbox.app.faults.add(Fault(kind="empty", tenant_id=int(TENANT), collection="users", times=1))
    sync(stack, kind="nightly", trigger="schedule:status-held")
    run = sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)[-1]
    assert run.state == "held"
    yield run


# ------------------------------------------------------------------ operator page, signed
def test_a_signed_request_reads_every_district_its_runs_and_the_held_run_as_json(
    stack: LocalStack, held: SyncRun
) -> None:
    response = signed_get(stack, "/ops/status.json")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    data = response.json()
    [district] = data["districts"]
    assert (district["tenant_id"], district["name"], district["state"]) == (
        TENANT,
        "Maple Valley Schools",
        "held",
    )
    assert district["last_run"]["run_id"] == held.run_id
    assert [h["run_id"] for h in data["held_runs"]] == [held.run_id]
    runs = data["recent_runs"][TENANT]
    assert [(r["kind"], r["state"]) for r in runs] == [("nightly", "held"), ("initial", "succeeded")]
    initial = SyncRun.get(TENANT, runs[1]["run_id"])
    assert runs[1]["counts"]["created"] == initial.counts.as_dict()["total"]["created"] > 0
    assert data["failed_runs"] == []


def test_the_html_page_shows_districts_a_chart_of_runs_and_failures(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    stack_sandbox.app.faults.add(Fault(kind="http_503", tenant_id=int(TENANT), collection="users"))
    sync(stack, kind="nightly", trigger="schedule:status-failed")
    failed = sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)[-1]
    assert failed.state == "failed"

    response = signed_get(stack, "/ops/status")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = response.text
    assert 'data-tenant="2001"' in page and "Maple Valley Schools" in page
    assert "Failed runs (1)" in page and failed.run_id in page and (failed.error or "?") in page
    assert "Held runs (0)" in page and "No run is held." in page
    chart = re.search(r'<svg class="run-chart".*?</svg>', page, re.S)
    assert chart is not None
    assert chart.group(0).count('<g class="run') == 2  # the initial and the failed run
    assert 'class="s-created"' in chart.group(0) and 'class="m-failed"' in chart.group(0)
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_name_from_classlink_is_escaped_not_markup(stack: LocalStack) -> None:
    District(tenant_id="9001", name='<img src=x onerror="alert(1)">&Co').save()
    page = signed_get(stack, "/ops/status").text
    assert "<img" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;Co" in page


# ------------------------------------------------------------------ operator page, refused
@pytest.mark.parametrize("path", ["/ops/status", "/ops/status.json"])
def test_an_unsigned_request_is_forbidden_before_the_function(stack: LocalStack, path: str) -> None:
    assert stack.gateway is not None
    response = requests.get(f"{stack.gateway.url}{path}", timeout=10)
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    assert _console_calls(stack) == 0


@pytest.mark.parametrize(
    "credentials",
    [
        Credentials("local", "not-the-secret", "local"),  # a forged signature
        Credentials("AKIAOTHERKEY", "local", "local"),  # someone else's key
        Credentials("local", "local", "another-token"),  # a token that is not ours
    ],
    ids=["bad-signature", "other-access-key", "other-session-token"],
)
def test_a_badly_signed_request_is_forbidden(stack: LocalStack, credentials: Credentials) -> None:
    response = signed_get(stack, "/ops/status.json", credentials=credentials)
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    assert _console_calls(stack) == 0


def test_a_credential_with_characters_no_key_has_is_forbidden_not_an_error(stack: LocalStack) -> None:
    assert stack.gateway is not None
    now = datetime.now(UTC)
    scope = f"{now:%Y%m%d}/{REGION}/execute-api/aws4_request"
    response = requests.get(
        f"{stack.gateway.url}/ops/status.json",
        headers={
            "X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=l\u00f3cal/{scope}, "
            "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        },
        timeout=10,
    )
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    assert _console_calls(stack) == 0


def test_a_signature_older_than_five_minutes_is_forbidden(stack: LocalStack) -> None:
    now = datetime.now(UTC)
    stale = signed_get(stack, "/ops/status.json", at=now - timedelta(minutes=6))
    early = signed_get(stack, "/ops/status.json", at=now + timedelta(minutes=6))
    assert (stale.status_code, early.status_code) == (403, 403)
    assert _console_calls(stack) == 0
    recent = signed_get(stack, "/ops/status.json", at=now - timedelta(minutes=4))
    assert recent.status_code == 200  # within API Gateway's 5 minutes


def test_a_signature_is_for_one_path_and_one_service(stack: LocalStack) -> None:
    moved = signed_get(stack, "/ops/status.json", send_to="/ops/status")
    other_service = signed_get(stack, "/ops/status.json", service="lambda")
    assert (moved.status_code, other_service.status_code) == (403, 403)
    assert _console_calls(stack) == 0


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_function_logs_the_caller_api_gateway_verified(stack: LocalStack) -> None:
    shared = logging.getLogger(SERVICE)  # the handlers' Powertools logger
    lines = _Lines()
    shared.addHandler(lines)
    try:
        response = signed_get(stack, "/ops/status.json")
    finally:
        shared.removeHandler(lines)
    assert response.status_code == 200
    [viewed] = [r for r in lines.records if r.getMessage() == "status data read"]
    assert viewed.__dict__["caller"] == f"arn:aws:iam::{ACCOUNT_ID}:user/local-operator"


# ------------------------------------------------------------------ district page
def _district_page(stack: LocalStack, token: str | None) -> requests.Response:
    assert stack.gateway is not None
    query = {} if token is None else {"token": token}
    return requests.get(f"{stack.gateway.url}/district/status", params=query, timeout=30)


def test_the_link_in_the_districts_report_opens_its_status_page(stack: LocalStack) -> None:
    contact = "it-admin@maple.example.org"
    ses = ses_backends[ACCOUNT_ID][REGION]
    sent_before = len(ses.sent_messages)
    poll(stack, drain=False)  # discovered and queued; the initial sync has not run yet
    District.get(TENANT).update(actions=[District.contact_email.set(contact)])
    stack.drain(timeout_seconds=300)

    [email] = [m for m in ses.sent_messages[sent_before:] if contact in m.destinations["ToAddresses"]]
    links = re.findall(r"https?://\S+/district/status\?token=\S+", email.body)
    assert len(links) == 1, email.body
    assert f"works for {LINK_TTL.days} days" in email.body
    page = requests.get(links[0], timeout=30)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "Maple Valley Schools" in page.text and "First sync" in page.text and "Finished" in page.text
    run = next(iter(SyncRun.query(TENANT)))
    synced = run.synced.as_dict()
    assert f"{synced['students']} students, {synced['teachers']} teachers" in page.text
    assert run.health  # the sandbox district has roster problems to fix
    for finding in run.health:
        assert finding.message in page.text and finding.fix in page.text
    assert contact not in page.text  # the page never shows the report's address


def test_the_district_page_shows_findings_with_their_fixes_and_only_that_district(
    stack: LocalStack, held: SyncRun
) -> None:
    District(tenant_id="9002", name="Another District").save()
    token = make_token(TENANT, _signing_key(stack), get_settings())
    page = _district_page(stack, token)
    assert page.status_code == 200
    assert "Held for review" in page.text and "Another District" not in page.text
    initial = next(r for r in SyncRun.query(TENANT) if r.kind == "initial")
    assert initial.health  # the sandbox district has roster problems to fix
    for finding in initial.health:
        assert f'data-code="{finding.code}"' in page.text and finding.fix in page.text


@pytest.mark.parametrize(
    ("case", "expired"),
    [("expired", True), ("forged", False), ("other-audience", False), ("missing", False), ("garbage", False)],
)
def test_a_bad_district_link_is_refused_with_a_page_that_says_what_to_do(
    stack: LocalStack, case: str, expired: bool
) -> None:
    poll(stack, drain=False)
    key, settings = _signing_key(stack), get_settings()
    now = datetime.now(UTC)
    impostor = SigningKey(
        kid=key.kid, private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    session_like = {
        "iss": f"smartpass-classlink-{settings.stage}",
        "aud": "smartpass-app",
        "sub": TENANT,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=1)).timestamp()),
    }
    token = {
        "expired": make_token(TENANT, key, settings, now=now - LINK_TTL - timedelta(minutes=1)),
        "forged": make_token(TENANT, impostor, settings),
        "other-audience": jwt.encode(
            session_like, key.private_key, algorithm="RS256", headers={"kid": key.kid}
        ),
        "missing": None,
        "garbage": "not.a.token",
    }[case]
    page = _district_page(stack, token)
    assert page.status_code == 403
    assert ("This link has expired" if expired else "This link is not valid") in page.text
    assert "latest SmartPass sync report" in page.text
    assert "Maple Valley" not in page.text


def test_no_link_when_the_apis_address_is_not_configured(stack: LocalStack) -> None:
    settings = get_settings()
    key = _signing_key(stack)
    assert status_url(TENANT, key, settings.model_copy(update={"sso_redirect_uri": ""})) is None
    url = status_url(TENANT, key, settings)
    assert url is not None and url.startswith(f"{urlsplit(settings.sso_redirect_uri).scheme}://")
    assert urlsplit(url).netloc == urlsplit(settings.sso_redirect_uri).netloc
