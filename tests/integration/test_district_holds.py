"""A district administrator decides their district's held run over HTTP, through the local stack:
signed in at the sandbox LaunchPad, our launch with the `district_holds` destination, ClassLink,
our callback, then the holds page (the DistrictHolds function). Also: another district's
administrator, a teacher, a forged session or form and a replayed decision, each refused with
nothing changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster import RosterUser
from smartpass.data.sync_runs import SyncRun
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import launchpad_browser
from tests.integration.sync_helpers import TENANT, sync

OTHER = 2017  # a second district of the sandbox, with an administrator of its own
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


GONE = 60  # students removed from 2001's roster: over its threshold (the larger of 10% and 50)


@pytest.fixture
def held(stack: LocalStack, stack_sandbox: SandboxServer) -> Iterator[str]:
    """Both districts onboarded by the poll; then 2001's nightly run held (60 students gone)."""
    tenant = stack_sandbox.world.tenants[int(TENANT)]
    snapshot = {name: {k: dict(v) for k, v in rows.items()} for name, rows in tenant.data.items()}
    other = DistrictSpec(OTHER, "Juniper Flats", seed=4, students=20, teachers=2, share_unenrolled=True)
    stack_sandbox.add_district(other)
    try:
        poll(stack)
        students = sorted(sid for sid, u in tenant.users().items() if u["role"] == "student")
        stack_sandbox.change(int(TENANT), {"op": "purge", "sourcedIds": students[:GONE]})
        sync(stack, kind="nightly", trigger="schedule:held")
        run = max(SyncRun.query(TENANT), key=lambda r: r.run_id)
        assert run.state == "held" and District.get(TENANT).state == DistrictState.HELD.value
        yield run.run_id
    finally:
        stack_sandbox.world.tenants.pop(OTHER, None)
        tenant.data = snapshot
        tenant.touch()


def _person(sandbox: SandboxServer, tenant_id: int, role: str) -> dict[str, Any]:
    return next(
        u
        for u in sandbox.world.tenants[tenant_id].users().values()
        if u["role"] == role and u.get("enabledUser") == "true"
    )


def _signed_in(
    stack: LocalStack, sandbox: SandboxServer, tenant_id: int, role: str
) -> tuple[requests.Session, requests.Response]:
    """A browser signed in to the LaunchPad as someone of `role`, through our launch for the holds page."""
    assert stack.gateway is not None
    browser = launchpad_browser(sandbox, tenant_id, _person(sandbox, tenant_id, role)["sourcedId"])
    landing = browser.get(
        f"{stack.gateway.url}/sso/classlink/launch", params={"destination": "district_holds"}, timeout=30
    )
    return browser, landing


def _post(
    stack: LocalStack, browser: requests.Session, run_id: str, decision: str, token: str
) -> requests.Response:
    assert stack.gateway is not None
    return browser.post(
        f"{stack.gateway.url}/district/holds",
        data={"run_id": run_id, "decision": decision, "form_token": token},
        timeout=30,
    )


def _active_users() -> int:
    return sum(1 for u in RosterUser.query(TENANT) if u.active)


def test_a_district_administrator_approves_their_districts_held_run(
    stack: LocalStack, stack_sandbox: SandboxServer, held: str
) -> None:
    admin = _person(stack_sandbox, int(TENANT), "administrator")
    browser, page = _signed_in(stack, stack_sandbox, int(TENANT), "administrator")
    assert stack.gateway is not None and page.url == f"{stack.gateway.url}/district/holds"
    assert page.status_code == 200 and held in page.text and "active users would be deactivated" in page.text
    assert "login_code" not in page.url
    cookie = next(c for c in browser.cookies if c.name == "sp_district_admin")
    assert cookie.path == "/district/holds" and cookie.has_nonstandard_attr("HttpOnly")
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    (token,) = set(FORM_TOKEN.findall(page.text))

    before = _active_users()
    decided = _post(stack, browser, held, "approve", token)
    assert decided.status_code == 200 and "Approved." in decided.text, decided.text
    run = SyncRun.get(TENANT, held)
    name = f"{admin['givenName']} {admin['familyName']}"
    who = f"{name} ({admin['sourcedId']}), district administrator via ClassLink"
    assert run.state == "approved" and run.decided_by == who
    assert _active_users() == before - GONE
    assert District.get(TENANT).state == DistrictState.ACTIVE.value
    events = {(e.kind, e.actor) for e in DistrictEvent.query(TENANT)}
    assert {
        ("hold_approved", f"district-admin:{admin['sourcedId']}"),
        ("state_changed", f"district-admin:{admin['sourcedId']}"),
    } <= events

    replayed = _post(stack, browser, held, "approve", token)  # the same request again
    assert replayed.status_code == 409 and "is approved, not held" in replayed.text
    assert SyncRun.get(TENANT, held).decided_by == who


def test_another_districts_administrator_neither_sees_nor_decides_it(
    stack: LocalStack, stack_sandbox: SandboxServer, held: str
) -> None:
    browser, page = _signed_in(stack, stack_sandbox, OTHER, "administrator")
    assert page.status_code == 200 and "Juniper Flats" in page.text
    assert held not in page.text and "Nothing to review" in page.text
    assert not FORM_TOKEN.findall(page.text)  # nothing to decide: no form at all
    # A 2001 administrator's form token (say, copied from their screen) is not this session's.
    _, page_2001 = _signed_in(stack, stack_sandbox, int(TENANT), "administrator")
    answer = _post(stack, browser, held, "approve", FORM_TOKEN.findall(page_2001.text)[0])
    assert answer.status_code == 403
    # This session's own form token (the administrator can decode their own cookie): the run is
    # looked for among their own district's runs only, and is not there.
    own = next(c for c in browser.cookies if c.name == "sp_district_admin")
    own_token = jwt.decode(str(own.value), options={"verify_signature": False})["jti"]
    for decision in ("approve", "reject"):
        answer = _post(stack, browser, held, decision, own_token)
        assert answer.status_code == 409 and f"no run {held} for district {OTHER}" in answer.text
    assert SyncRun.get(TENANT, held).state == "held"
    assert District.get(TENANT).state == DistrictState.HELD.value


def test_a_teacher_is_refused_at_sign_in_and_gets_no_session(
    stack: LocalStack, stack_sandbox: SandboxServer, held: str
) -> None:
    browser, page = _signed_in(stack, stack_sandbox, int(TENANT), "teacher")
    assert page.status_code == 403 and "Only your district" in page.text
    assert not [c for c in browser.cookies if c.name == "sp_district_admin"]
    assert stack.gateway is not None
    direct = browser.get(f"{stack.gateway.url}/district/holds", timeout=30)
    assert direct.status_code == 401 and "Sign in with ClassLink" in direct.text and held not in direct.text


def test_a_forged_session_or_form_decides_nothing(
    stack: LocalStack, stack_sandbox: SandboxServer, held: str
) -> None:
    browser, page = _signed_in(stack, stack_sandbox, int(TENANT), "administrator")
    (token,) = set(FORM_TOKEN.findall(page.text))
    forged_form = _post(stack, browser, held, "approve", "a" * len(token))
    assert forged_form.status_code == 403 and "was not sent from your district" in forged_form.text

    stranger = requests.Session()  # no cookie: another site's form, say
    assert _post(stack, stranger, held, "approve", token).status_code == 401
    session = next(c for c in browser.cookies if c.name == "sp_district_admin")
    header, payload, signature = str(session.value).split(".")
    tampered = requests.Session()
    tampered.cookies.set(
        "sp_district_admin", f"{header}.{payload}.{signature[:-4]}AAAA", path="/district/holds"
    )
    assert _post(stack, tampered, held, "approve", token).status_code == 401
    assert SyncRun.get(TENANT, held).state == "held" and _active_users() > 0
