"""The session signing key as the functions read it, through Powertools Parameters with a cache:
the current version of the secret signs; the previous one (Secrets Manager's AWSPREVIOUS stage,
where putting a new key value leaves the old one) is still trusted for what it signed. The SSO
function signs sessions and publishes both public keys; the status pages check district links
with either. One module, so every function reads the keys the same way."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from smartpass.settings import get_settings
from smartpass.sso.session import SigningKey, SigningKeys

SECRET_MAX_AGE = 300  # a rotated key is used, and published, within five minutes
PREVIOUS = "smartpass-previous-versions"
logger = Logger()
# The previous version is cached apart from the current one, so the two could expire at different
# times: the previous one is read again whenever the current `kid` is not the one it was read
# beside (else the JWKS could pair the new key with the one before the last). A secret with no
# previous version (never rotated) is remembered as such for as long as a value is cached.
_read_beside: dict[str, Any] = {"kid": None, "absent_until": 0.0}


def _current() -> dict[str, Any]:
    secret: dict[str, Any] = parameters.get_secret(
        get_settings().session_signing_key_secret_id, transform="json", max_age=SECRET_MAX_AGE
    )
    return secret


def _never_rotated(exc: GetParameterError) -> bool:
    # Powertools wraps the SDK's error without `from`: the cause is the exception's context.
    cause = exc.__context__
    return isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ResourceNotFoundException"


def _previous(current_kid: object) -> dict[str, Any] | None:
    moved = _read_beside["kid"] != current_kid
    if not moved and time.monotonic() < _read_beside["absent_until"]:
        return None
    # A provider of its own: Powertools caches by name and transform only, so the previous
    # version read through the shared provider would be served for the current one. Kept with
    # the default providers so `parameters.clear_caches()` clears it like the others.
    if PREVIOUS not in DEFAULT_PROVIDERS:  # made once: a provider builds its boto3 client at once
        DEFAULT_PROVIDERS[PREVIOUS] = parameters.SecretsProvider()
    provider = DEFAULT_PROVIDERS[PREVIOUS]
    try:
        secret: dict[str, Any] = provider.get(
            get_settings().session_signing_key_secret_id,
            transform="json",
            max_age=SECRET_MAX_AGE,
            force_fetch=moved,
            VersionStage="AWSPREVIOUS",
        )
    except GetParameterError as exc:
        if _never_rotated(exc):
            _read_beside.update(kid=current_kid, absent_until=time.monotonic() + SECRET_MAX_AGE)
        else:  # throttled, denied, unreachable: the current key alone for now, said loudly
            logger.warning("previous signing key not read", extra={"error": type(exc.__context__).__name__})
        return None
    _read_beside.update(kid=current_kid, absent_until=0.0)
    return secret


def signing_key() -> SigningKey:
    """The key that signs now (the hot path reads only this one)."""
    return SigningKey.from_secret(_current())


def signing_keys() -> SigningKeys:
    """Every key still trusted: the current one and, after a rotation, the one before it."""
    current = _current()
    previous = _previous(current.get("kid"))
    try:
        return SigningKeys.from_secrets(current, previous)
    except (KeyError, TypeError, ValueError) as exc:
        if previous is None:
            raise  # the current key itself is unusable: a deployment error, not ours to hide
        logger.warning(
            "previous signing key unusable; trusting the current one only",
            extra={"error": type(exc).__name__},
        )
        return SigningKeys(SigningKey.from_secret(current))
