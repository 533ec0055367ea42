"""Filter values that contain a single quote, and names from the generator's awkward pools, over
real HTTP. classlink-facts B4 says nothing on how a quote inside a value is written, so the
sandbox accepts the SQL-style doubled quote and a backslash-escaped one (oneroster.parse_filter).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from classlink_sandbox.changes import apply_change
from classlink_sandbox.oneroster import OneRosterError, parse_filter
from classlink_sandbox.server import SandboxServer


def _ids(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {u["sourcedId"] for u in response.json()["users"]}


def _expected(get: Any, part: str, name: str) -> set[str]:
    everyone = get("/users", limit=10_000).json()["users"]
    found = {u["sourcedId"] for u in everyone if u[part] == name}
    assert found, f"the sandbox district should hold a {part} {name!r}"
    return found


@pytest.mark.parametrize(
    "spelled", ["familyName='O''Brien'", "familyName='O\\'Brien'"], ids=["doubled", "backslash"]
)
def test_a_quote_inside_a_filter_value(get: Any, spelled: str) -> None:
    expected = _expected(get, "familyName", "O'Brien")
    assert _ids(get("/users", filter=spelled, limit=10_000)) == expected


def test_escaped_quotes_with_other_operators_and_boolean_groups(get: Any) -> None:
    obrien = _expected(get, "familyName", "O'Brien")
    dandre = _expected(get, "givenName", "D'Andre")
    either = get("/users", filter="familyName='O''Brien' OR givenName='D\\'Andre'", limit=10_000)
    assert _ids(either) == obrien | dandre
    contains = get("/users", filter="familyName~'o''b'", limit=10_000)
    assert _ids(contains) == obrien
    not_obrien = get("/users", filter="role='teacher' AND familyName!='O''Brien'", limit=10_000)
    assert _ids(not_obrien) and not _ids(not_obrien) & obrien


def test_and_or_inside_a_quoted_value_belong_to_the_value(get: Any, sandbox: SandboxServer) -> None:
    tenant = sandbox.world.tenants[3001]
    student = next(u["sourcedId"] for u in get("/students", limit=1).json()["users"])
    odd = "Rock 'n' Roll OR role='teacher' AND Sons"
    apply_change(tenant, {"op": "edit_user", "sourcedId": student, "fields": {"familyName": odd}})
    spelled = odd.replace("'", "''")
    assert _ids(get("/users", filter=f"familyName='{spelled}'", limit=10_000)) == {student}
    assert _ids(get("/users", filter=f"familyName='{spelled}' AND role='teacher'", limit=10_000)) == set()


def test_non_latin_and_accented_values_filter_exactly(get: Any) -> None:
    for part, name in (("familyName", "李"), ("familyName", "García"), ("givenName", "Zoë")):
        expected = _expected(get, part, name)
        assert _ids(get("/users", filter=f"{part}='{name}'", limit=10_000)) == expected


@pytest.mark.parametrize(
    "broken",
    ["familyName='O'Brien'", "familyName='O''Brien", "familyName='O\\'", "familyName='a' role='b'"],
)
def test_an_unescaped_or_unterminated_quote_is_a_400(get: Any, broken: str) -> None:
    response = get("/users", filter=broken)
    assert response.status_code == 400
    field = response.json()["imsx_StatusInfo"]["imsx_CodeMinor"]["imsx_codeMinorField"][0]
    assert field["imsx_codeMinorFieldValue"] == "invalid_filter_field"


def test_parse_filter_unescapes_each_spelling() -> None:
    def values(text: str) -> list[list[str]]:
        return [[p.value for p in group] for group in parse_filter(text, "users")]

    assert values("familyName='O''Brien'") == [["O'Brien"]]
    assert values("familyName='O\\'Brien'") == [["O'Brien"]]
    assert values("familyName='a\\\\' AND email=''") == [["a\\", ""]]  # \\ is one backslash
    assert values("familyName='C:\\temp'") == [["C:\\temp"]]  # any other backslash is literal
    assert values("givenName='''' OR familyName='x AND y'") == [["'"], ["x AND y"]]
    with pytest.raises(OneRosterError):
        parse_filter("familyName='O'Brien'", "users")


@pytest.mark.parametrize("spelled", ["familyName='O''Brien'", "familyName='O\\'Brien'"])
def test_quoted_filter_signed_with_oauth1_on_the_direct_roster_server(
    get: Any, tenant_info: dict[str, Any], spelled: str
) -> None:
    """The quote is part of the signed query (B2.1): the signature still matches."""
    expected = _expected(get, "familyName", "O'Brien")
    url = (
        requests.Request(
            "GET",
            f"{tenant_info['endpoint_url']}/ims/oneroster/v1p1/users",
            params={"filter": spelled, "limit": "10000"},
        )
        .prepare()
        .url
    )
    assert url is not None
    client = Client(
        tenant_info["oauth1_key"],
        client_secret=tenant_info["oauth1_secret"],
        signature_method=SIGNATURE_HMAC_SHA256,
    )
    signed_url, headers, _ = client.sign(url, http_method="GET")
    assert _ids(requests.get(signed_url, headers=headers, timeout=10)) == expected
