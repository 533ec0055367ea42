"""The one-time login code on in-memory repositories (tests/fakes): exchanged for a session
once, never after it expires, and not when another request redeemed it or it expired between
this request's read and its write (the conditional write decides, not the read). Binding the code
to the client that finished the login is tested in test_login_binding.py; the integration tier
runs the same through the local stack (test_sso.py, test_sso_round_trips.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from smartpass.data.base import utcnow
from smartpass.data.login import LoginCode
from smartpass.data.stores import Stores
from smartpass.sso.identity import Person
from smartpass.sso.session import (
    SESSION_AUDIENCE,
    IssuedCode,
    LoginCodeRejected,
    SigningKey,
    issue_login_code,
    redeem_login_code,
)
from tests.fakes.stores import FakeLoginCodes, fake_stores

TENANT = "5150"
USER_ID = "900001"
ISSUER = "smartpass-classlink-test"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey("kid-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _codes(stores: Stores) -> FakeLoginCodes:
    assert isinstance(stores.login_codes, FakeLoginCodes)
    return stores.login_codes


def _issued(stores: Stores) -> IssuedCode:
    """A login code as the callback issues it to a browser (bound by a cookie in it)."""
    return issue_login_code(stores, Person(TENANT, "s-1", "teacher", ("school-1",), USER_ID))


def _redeem(stores: Stores, issued: IssuedCode, key: SigningKey, code: str | None = None) -> str:
    """The exchange from the browser the code was issued to."""
    return redeem_login_code(
        stores, issued.code if code is None else code, key, ISSUER, cookie=issued.cookie_value
    )


def _only_code(stores: Stores) -> LoginCode:
    [raw] = _codes(stores).items.values()
    return LoginCode.from_raw_data(raw)


def test_a_login_code_is_exchanged_for_a_session_once(key: SigningKey) -> None:
    stores = fake_stores()
    issued = _issued(stores)
    assert issued.code not in str(_codes(stores).items)  # only its hash is stored
    token = _redeem(stores, issued, key)
    claims = jwt.decode(
        token, key.private_key.public_key(), algorithms=["RS256"], audience=SESSION_AUDIENCE, issuer=ISSUER
    )
    assert (claims["tenant_id"], claims["sourced_id"], claims["role"]) == (TENANT, "s-1", "teacher")
    assert claims["school_ids"] == ["school-1"] and jwt.get_unverified_header(token)["kid"] == "kid-1"
    assert _only_code(stores).consumed
    with pytest.raises(LoginCodeRejected):
        _redeem(stores, issued, key)


def test_an_expired_login_code_is_refused(key: SigningKey) -> None:
    stores = fake_stores()
    issued = _issued(stores)
    stored = _only_code(stores)
    stored.expires_at = utcnow() - timedelta(seconds=1)
    _codes(stores).add(stored)
    with pytest.raises(LoginCodeRejected):
        _redeem(stores, issued, key)
    assert not _only_code(stores).consumed


def _race(stores: Stores, then: Callable[[FakeLoginCodes, LoginCode], None]) -> None:
    """Another request acts on the code right after this one has read it."""
    codes = _codes(stores)
    read = codes.get

    def read_then_race(code_hash: str) -> LoginCode | None:
        found = read(code_hash)
        codes.get = read  # type: ignore[method-assign]  # once
        other = read(code_hash)
        assert other is not None
        then(codes, other)
        return found

    codes.get = read_then_race  # type: ignore[method-assign]


def test_a_login_code_redeemed_by_another_request_after_this_one_read_it_is_refused(key: SigningKey) -> None:
    stores = fake_stores()
    issued = _issued(stores)
    _race(stores, lambda codes, other: codes.update(other, {"consumed": True}) and None)
    with pytest.raises(LoginCodeRejected):
        _redeem(stores, issued, key)


def test_a_login_code_that_expires_between_the_read_and_the_write_is_refused(key: SigningKey) -> None:
    stores = fake_stores()
    issued = _issued(stores)
    _race(
        stores,
        lambda codes, other: codes.update(other, {"expires_at": utcnow() - timedelta(seconds=1)}) and None,
    )
    with pytest.raises(LoginCodeRejected):
        _redeem(stores, issued, key)
    assert not _only_code(stores).consumed


@pytest.mark.parametrize("code", ["", "unknown-code", "x" * 129])
def test_an_unknown_or_malformed_login_code_is_refused(key: SigningKey, code: str) -> None:
    stores = fake_stores()
    issued = _issued(stores)
    with pytest.raises(LoginCodeRejected):
        _redeem(stores, issued, key, code)
    assert not _only_code(stores).consumed
