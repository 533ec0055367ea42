"""The login code's binding on the fakes: a PKCE verifier outside RFC 7636's alphabet or length is
refused like any wrong one (never an error that tells a PKCE-bound code from another)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from smartpass.sso.identity import Person
from smartpass.sso.session import LoginCodeRejected, SigningKey, issue_login_code, redeem_login_code
from tests.fakes.stores import fake_stores

VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
KEY = SigningKey("k", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.mark.parametrize("verifier", ["é" * 43, "v" * 42, "v" * 129, "v" * 42 + " ", ""])
def test_a_verifier_outside_rfc_7636_is_refused_not_an_error(verifier: str) -> None:
    stores = fake_stores()
    issued = issue_login_code(stores, Person("1", "s", "student", (), "9"), code_challenge=CHALLENGE)
    with pytest.raises(LoginCodeRejected):
        redeem_login_code(stores, issued.code, KEY, "iss", code_verifier=verifier)
    assert redeem_login_code(stores, issued.code, KEY, "iss", code_verifier=VERIFIER)  # not spent


def test_a_cookie_bound_code_needs_its_cookie_and_a_verifier_does_not_stand_in() -> None:
    stores = fake_stores()
    issued = issue_login_code(stores, Person("1", "s", "student", (), "9"))
    assert issued.cookie_value is not None
    for cookie, verifier in ((None, None), ("wrong", None), (None, VERIFIER)):
        with pytest.raises(LoginCodeRejected):
            redeem_login_code(stores, issued.code, KEY, "iss", cookie=cookie, code_verifier=verifier)
    assert redeem_login_code(stores, issued.code, KEY, "iss", cookie=issued.cookie_value)
