"""Pure domain rules, no network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from oauthlib.oauth2 import WebApplicationClient
from pydantic import ValidationError

from smartpass.classlink.partner_api import ApplicationRow
from smartpass.sso.launch import InvalidReturnPath, safe_return_path
from smartpass.sync.requests import SyncRequest

ROW = {
    "id": 1176,
    "application_id": 57,
    "tenant_id": 2,
    "tenant_name": "ClassLink Demo",
    "bearer": "b",
    "enabled": "true",
    "tenant_status": "Active",
    "oneroster_application_id": "MoYPlyQWmG0%3D",
    "name": "ClassLink",
    "version": "1.1",
}


def test_application_row_normalises_the_live_types() -> None:
    row = ApplicationRow.model_validate(ROW)
    assert row.tenant_id == "2" and row.enabled is True and row.is_live
    assert row.oneroster_application_id == "MoYPlyQWmG0%3D"  # kept verbatim, never decoded


@pytest.mark.parametrize(
    ("change", "live"),
    [({"enabled": "false"}, False), ({"tenant_status": "Inactive"}, False), ({"tenant_id": "2"}, True)],
)
def test_application_row_liveness(change: dict[str, str], live: bool) -> None:
    assert ApplicationRow.model_validate({**ROW, **change}).is_live is live


@pytest.mark.parametrize(
    "change",
    [
        {"enabled": "yes"},
        {"tenant_id": None},
        {"tenant_id": True},
        {"tenant_id": ""},
        {"oneroster_application_id": ""},
    ],
)
def test_malformed_application_rows_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ApplicationRow.model_validate({**ROW, **change})


def test_pkce_s256_of_oauthlib_matches_the_rfc_7636_example() -> None:
    assert (
        WebApplicationClient("c").create_code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "S256")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


@pytest.mark.parametrize("path", ["/", "/passes?x=1", "/a/b", "/a%20b", "/x?next=%2Fpasses&y="])
def test_safe_return_paths(path: str) -> None:
    assert safe_return_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil",
        "evil",
        "/" + "a" * 600,
        "/\t/evil",
        "/\n/x",
        "/ a",
        # security review finding 5: judged after decoding, blank values kept
        "/%2e%2e/district/status",
        "/app/%2E%2E/%2e%2e/x",
        "/%252e%252e/x",
        "/./x",
        "/%2f%2fevil.example",
        "/%5cevil.example",
        "/x%0d%0aSet-Cookie:a=b",
        "/x?login_code=",
        "/x?a=1&login%5Fcode=abc",
    ],
)
def test_return_paths_that_would_leave_the_site_are_refused(path: str) -> None:
    with pytest.raises(InvalidReturnPath):
        safe_return_path(path)


def test_sync_request_contract() -> None:
    request = SyncRequest(
        tenant_id="2001",
        kind="nightly",
        trigger="schedule:x",
        requested_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    assert request.dedupe_key() == f"2001|{request.resolved_run_id()}|0|0"
    assert request.resolved_run_id().startswith("2026-11-29T00:00:00.000000Z#nightly#")
    again = SyncRequest.model_validate_json(request.model_dump_json())
    assert again.resolved_run_id() == request.resolved_run_id()  # a redelivery names the same run
    other = request.model_copy(update={"trigger": "schedule:y"})
    assert other.resolved_run_id() != request.resolved_run_id()
    continuation = request.model_copy(update={"run_id": request.resolved_run_id(), "piece": 3})
    assert continuation.dedupe_key() == f"2001|{request.resolved_run_id()}|3|0"
    with pytest.raises(ValidationError):
        SyncRequest.model_validate_json(
            '{"tenant_id": "2001/../x", "kind": "nightly", "trigger": "t", '
            '"requested_at": "2026-11-29T00:00:00Z"}'
        )
    with pytest.raises(ValidationError):
        SyncRequest.model_validate_json(
            '{"tenant_id": "2001", "kind": "weekly", "trigger": "t", "requested_at": "2026-11-29T00:00:00Z"}'
        )
