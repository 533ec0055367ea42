"""The status pages in a real headless Chromium: an operator opens the IAM-protected status page
through the CLI's signing proxy and sees the districts, the chart of runs and the held run; a
district admin opens the link from their report. The browser enforces the pages' CSP, so a
style the policy did not allow would show up as a console error. Screenshots are kept in
test-results/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.ses.models import ses_backends

from classlink_sandbox.faults import Fault
from classlink_sandbox.server import SandboxServer
from local_stack.lambda_events import ACCOUNT_ID
from local_stack.stack import REGION, LocalStack
from smartpass.data.districts import District
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass_ops.signing_proxy import SigningProxy
from tests.integration.onboarding_helpers import poll
from tests.integration.sync_helpers import TENANT, sync

pytestmark = pytest.mark.browser
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
CONTACT = "it-admin@maple.example.org"


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    bind_tables(get_settings())


@pytest.fixture
def proxy(stack: LocalStack) -> Iterator[SigningProxy]:
    """The CLI's proxy, signing with the operator's credentials (the local ones here)."""
    assert stack.gateway is not None
    running = SigningProxy(stack.gateway.url, boto3.Session(region_name=REGION), REGION).start()
    yield running
    running.stop()


@pytest.fixture
def held_district(stack: LocalStack, stack_sandbox: SandboxServer) -> SyncRun:
    """Onboarded with a report to its contact, then a nightly run held (ClassLink sent no users)."""
    poll(stack, drain=False)
    District.get(TENANT).update(actions=[District.contact_email.set(CONTACT)])
    stack.drain(timeout_seconds=300)
    stack_sandbox.app.faults.add(Fault(kind="empty", tenant_id=int(TENANT), collection="users", times=1))
    sync(stack, kind="nightly", trigger="schedule:browser-held")
    run = sorted(SyncRun.query(TENANT), key=lambda r: r.run_id)[-1]
    assert run.state == "held"
    return run


def _open(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(url)
    assert response is not None
    return page, problems


def test_an_operator_sees_districts_the_chart_and_the_held_run(
    browser: Any, stack: LocalStack, proxy: SigningProxy, held_district: SyncRun
) -> None:
    page, problems = _open(browser, f"{proxy.url}/ops/status")
    page.wait_for_selector("tr.district")
    assert page.locator("tr.district").count() == 1
    assert "Maple Valley Schools" in page.inner_text("tr.district") and "held" in page.inner_text(
        "tr.district"
    )
    chart = page.locator("figure[data-tenant='2001'] svg.run-chart")
    assert chart.is_visible()
    assert chart.locator("g.run").count() == 2  # the initial run and the held nightly run
    box = chart.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50
    held = page.locator("tr.held-run")
    assert held.count() == 1 and held_district.run_id in held.inner_text()
    assert "Held runs (1)" in page.inner_text("#held h2")
    # The stylesheet is allowed by its hash: the browser applied it (the header is coloured).
    header_colour = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
    assert header_colour == "rgb(31, 58, 95)"
    assert problems == []
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "status-page.png"), full_page=True)
    page.close()


def test_a_district_admin_opens_the_link_in_their_report(
    browser: Any, stack: LocalStack, held_district: SyncRun
) -> None:
    sent = [
        m for m in ses_backends[ACCOUNT_ID][REGION].sent_messages if CONTACT in m.destinations["ToAddresses"]
    ]
    links = re.findall(r"https?://\S+/district/status\?token=\S+", sent[-1].body)
    assert links, sent[-1].body
    page, problems = _open(browser, links[-1])
    assert "Maple Valley Schools" in page.inner_text("h1")
    assert "Held for review" in page.inner_text("#state")
    assert page.locator("#health .finding").count() >= 1
    assert "Fix:" in page.inner_text("#health")
    assert problems == []
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "district-status.png"), full_page=True)
    page.close()


def test_an_expired_or_bad_link_shows_what_to_do(browser: Any, stack: LocalStack) -> None:
    assert stack.gateway is not None
    page, problems = _open(browser, f"{stack.gateway.url}/district/status?token=not-a-token")
    assert "This link is not valid" in page.inner_text("h1")
    assert "latest SmartPass sync report" in page.inner_text("main")
    assert problems == [] or all("403" in p for p in problems)  # Chromium logs the 403 itself
    page.close()
