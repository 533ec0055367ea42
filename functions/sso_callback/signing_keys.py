"""The session signing key as the functions read it, through Powertools Parameters with a cache:
the current version of the secret signs; the previous one (Secrets Manager's AWSPREVIOUS stage,
where putting a new key value leaves the old one) is still trusted for what it signed. The SSO
function signs sessions and publishes both public keys; the status pages check district links
with either. One module, so both functions read the keys the same way."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from smartpass.settings import get_settings
from smartpass.sso.session import SigningKey, SigningKeys

SECRET_MAX_AGE = 300  # a rotated key is used, and published, within five minutes
PREVIOUS = "smartpass-previous-versions"
logger = Logger()


def _current() -> dict[str, Any]:
    secret: dict[str, Any] = parameters.get_secret(
        get_settings().session_signing_key_secret_id, transform="json", max_age=SECRET_MAX_AGE
    )
    return secret


def _previous() -> dict[str, Any] | None:
    # A provider of its own: Powertools caches by name and transform only, so the previous
    # version read through the shared provider would be served for the current one. Kept with
    # the default providers so `parameters.clear_caches()` clears it like the others.
    provider = DEFAULT_PROVIDERS.setdefault(PREVIOUS, parameters.SecretsProvider())
    try:
        secret: dict[str, Any] = provider.get(
            get_settings().session_signing_key_secret_id,
            transform="json",
            max_age=SECRET_MAX_AGE,
            VersionStage="AWSPREVIOUS",
        )
    except GetParameterError as exc:  # never rotated (no such stage), or unreadable
        logger.debug("no previous signing key", extra={"error": type(exc.__cause__ or exc).__name__})
        return None
    return secret


def signing_key() -> SigningKey:
    """The key that signs now (the hot path reads only this one)."""
    return SigningKey.from_secret(_current())


def signing_keys() -> SigningKeys:
    """Every key still trusted: the current one and, after a rotation, the one before it."""
    return SigningKeys.from_secrets(_current(), _previous())
