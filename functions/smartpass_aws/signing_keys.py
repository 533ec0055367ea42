"""The signing keys as the functions read them, through Powertools Parameters with a cache: the
current version of a key's secret signs; the previous one (Secrets Manager's AWSPREVIOUS stage,
where putting a new key value leaves the old one) is still trusted for what it signed.

Two keys, each readable only by the function that signs with it (template.yaml):
- the session key (`session`): the SSO function signs sessions and publishes both public keys;
- the district link key (`district_link`): the worker signs the links in district reports and
  publishes their public keys for the operator console (smartpass_aws.link_keys), which never
  reads a private key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from smartpass.settings import get_settings
from smartpass.sso.session import SigningKey, SigningKeys

SECRET_MAX_AGE = 300  # a rotated key is used, and published, within five minutes
logger = Logger()


def _never_rotated(exc: GetParameterError) -> bool:
    # Powertools wraps the SDK's error without `from`: the cause is the exception's context.
    cause = exc.__context__
    return isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ResourceNotFoundException"


class RotatingKey:
    """One signing key's current and previous versions.

    The previous version is cached apart from the current one, so the two could expire at
    different times: it is read again whenever the current `kid` is not the one it was read beside
    (else a JWKS could pair the new key with the one before the last). A secret with no previous
    version (never rotated) is remembered as such for as long as a value is cached."""

    def __init__(self, name: str, secret_id: Callable[[], str]) -> None:
        self.secret_id = secret_id
        # A provider of its own for the previous version: Powertools caches by name and transform
        # only, so the previous version read through the shared provider would be served for the
        # current one. Kept with the default providers so `parameters.clear_caches()` clears it.
        self.previous_provider = f"smartpass-previous-{name}"
        self._read_beside: dict[str, Any] = {"kid": None, "absent_until": 0.0}

    def _current(self) -> dict[str, Any]:
        secret: dict[str, Any] = parameters.get_secret(
            self.secret_id(), transform="json", max_age=SECRET_MAX_AGE
        )
        return secret

    def _previous(self, current_kid: object) -> dict[str, Any] | None:
        moved = self._read_beside["kid"] != current_kid
        if not moved and time.monotonic() < self._read_beside["absent_until"]:
            return None
        if self.previous_provider not in DEFAULT_PROVIDERS:  # made once: it builds its client at once
            DEFAULT_PROVIDERS[self.previous_provider] = parameters.SecretsProvider()
        provider = DEFAULT_PROVIDERS[self.previous_provider]
        try:
            secret: dict[str, Any] = provider.get(
                self.secret_id(),
                transform="json",
                max_age=SECRET_MAX_AGE,
                force_fetch=moved,
                VersionStage="AWSPREVIOUS",
            )
        except GetParameterError as exc:
            if _never_rotated(exc):
                self._read_beside.update(kid=current_kid, absent_until=time.monotonic() + SECRET_MAX_AGE)
            else:  # throttled, denied, unreachable: the current key alone for now, said loudly
                logger.warning(
                    "previous signing key not read", extra={"error": type(exc.__context__).__name__}
                )
            return None
        self._read_beside.update(kid=current_kid, absent_until=0.0)
        return secret

    def current(self) -> SigningKey:
        """The key that signs now (the hot path reads only this one)."""
        return SigningKey.from_secret(self._current())

    def all(self) -> SigningKeys:
        """Every key still trusted: the current one and, after a rotation, the one before it."""
        return self.all_known()[0]

    def all_known(self) -> tuple[SigningKeys, bool]:
        """The keys, and whether they are known to be all: False when the previous version could
        not be read (throttled, denied) or used, so there may be one more still trusted."""
        current = self._current()
        previous = self._previous(current.get("kid"))
        known = previous is not None or time.monotonic() < self._read_beside["absent_until"]
        try:
            return SigningKeys.from_secrets(current, previous), known
        except (KeyError, TypeError, ValueError) as exc:
            if previous is None:
                raise  # the current key itself is unusable: a deployment error, not ours to hide
            logger.warning(
                "previous signing key unusable; trusting the current one only",
                extra={"error": type(exc).__name__},
            )
            return SigningKeys(SigningKey.from_secret(current)), False


session = RotatingKey("session", lambda: get_settings().session_signing_key_secret_id)
district_link = RotatingKey("district-link", lambda: get_settings().district_link_signing_key_secret_id)


def signing_key() -> SigningKey:
    """The key that signs sessions now."""
    return session.current()


def signing_keys() -> SigningKeys:
    """The session keys still trusted (the JWKS)."""
    return session.all()
