"""What the status routes need from outside the domain: the key that checks district links,
read through Powertools Parameters with a cache (the same secret the SSO function signs with)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from smartpass.settings import get_settings
from smartpass.sso.session import SigningKey

SECRET_MAX_AGE = 300


def signing_key() -> SigningKey:
    secret = parameters.get_secret(
        get_settings().session_signing_key_secret_id, transform="json", max_age=SECRET_MAX_AGE
    )
    return SigningKey.from_secret(secret)
