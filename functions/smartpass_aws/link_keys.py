"""Public halves of signing keys, each set in an SSM parameter (a JWKS), for functions that
verify and must never sign:
- the district link keys: the worker, which signs links, publishes them before it signs with a
  key not yet listed; the operator console reads only them;
- the session keys, for the district holds page: the SSO function publishes them before it signs
  a district administrator's session with a key not yet listed; the holds function reads only
  them (it verifies that session, and can sign nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities import parameters

from smartpass.settings import get_settings
from smartpass.sso.session import PublicKeys, SigningKey
from smartpass_aws import clients
from smartpass_aws.signing_keys import SECRET_MAX_AGE, RotatingKey, district_link, session


class PublishedKeys:
    """A rotating key whose public halves are published to the SSM parameter `parameter()`."""

    def __init__(self, key: RotatingKey, parameter: Callable[[], str]) -> None:
        self.key = key
        self.parameter = parameter

    def _published(self, fresh: bool = False) -> list[dict[str, Any]]:
        jwks = parameters.get_parameter(
            self.parameter(), transform="json", max_age=SECRET_MAX_AGE, force_fetch=fresh
        )
        keys = jwks.get("keys", []) if isinstance(jwks, dict) else []
        return [k for k in keys if isinstance(k, dict)]

    def signing_key(self) -> SigningKey:
        """The key to sign with, its public half published first (with the previous key's, so
        what was signed before a rotation still verifies). Verifiers read the parameter within
        five minutes; a token checked sooner after a rotation is refused, then accepted."""
        keys, all_known = self.key.all_known()
        published = self._published()
        wanted = keys.public_jwks()
        if all_known:
            # Exactly the current and the previous key: a key taken out of trust (a leak: its
            # AWSPREVIOUS version removed) stops verifying with the next token signed.
            stale = {str(k.get("kid")) for k in published} != {str(k["kid"]) for k in wanted}
        else:
            # The previous version could not be read: keep what is published (tokens signed
            # before the rotation must still verify) and add the current key if it is missing.
            stale = keys.current.kid not in {str(k.get("kid")) for k in published}
            wanted += [k for k in published if str(k.get("kid")) != keys.current.kid][:1]
        if stale:
            clients.ssm().put_parameter(
                Name=self.parameter(), Value=json.dumps({"keys": wanted}), Type="String", Overwrite=True
            )
            self._published(fresh=True)  # this warm function's cached copy follows at once
        return keys.current

    def public_keys(self) -> PublicKeys:
        """What a verifier checks tokens with: public keys only."""
        jwks = parameters.get_parameter(self.parameter(), transform="json", max_age=SECRET_MAX_AGE)
        return PublicKeys.from_jwks(jwks if isinstance(jwks, dict) else {})


district_links = PublishedKeys(district_link, lambda: get_settings().district_link_public_keys_parameter)
sessions = PublishedKeys(session, lambda: get_settings().session_public_keys_parameter)


def link_signing_key() -> SigningKey:
    """The key to sign a district link with (the worker)."""
    return district_links.signing_key()


def link_public_keys() -> PublicKeys:
    """What the operator console verifies district links with."""
    return district_links.public_keys()
