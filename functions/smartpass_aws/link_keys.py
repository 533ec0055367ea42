"""The district link keys' public halves, in an SSM parameter (a JWKS): the worker, which signs
links, publishes them before it signs with a key not yet listed; the operator console reads only
them, so it can verify a link and never sign one (or a session)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities import parameters

from smartpass.settings import get_settings
from smartpass.sso.session import PublicKeys, SigningKey
from smartpass_aws import clients
from smartpass_aws.signing_keys import SECRET_MAX_AGE, district_link


def _published(fresh: bool = False) -> list[dict[str, Any]]:
    jwks = parameters.get_parameter(
        get_settings().district_link_public_keys_parameter,
        transform="json",
        max_age=SECRET_MAX_AGE,
        force_fetch=fresh,
    )
    keys = jwks.get("keys", []) if isinstance(jwks, dict) else []
    return [k for k in keys if isinstance(k, dict)]


def link_signing_key() -> SigningKey:
    """The key to sign a district link with, its public half published first (with the previous
    key's, so links sent before a rotation still open). The console reads the parameter within
    five minutes; a link opened sooner after a rotation is refused, then opens."""
    keys, all_known = district_link.all_known()
    published = _published()
    wanted = keys.public_jwks()
    if all_known:
        # Exactly the current and the previous key: a key taken out of trust (a leak: its
        # AWSPREVIOUS version removed) stops opening links with the next one signed.
        stale = {str(k.get("kid")) for k in published} != {str(k["kid"]) for k in wanted}
    else:
        # The previous version could not be read: keep what is published (links sent before the
        # rotation must still open) and add the current key if it is missing.
        stale = keys.current.kid not in {str(k.get("kid")) for k in published}
        wanted += [k for k in published if str(k.get("kid")) != keys.current.kid][:1]
    if stale:
        clients.ssm().put_parameter(
            Name=get_settings().district_link_public_keys_parameter,
            Value=json.dumps({"keys": wanted}),
            Type="String",
            Overwrite=True,
        )
        _published(fresh=True)  # this warm worker's cached copy follows at once
    return keys.current


def link_public_keys() -> PublicKeys:
    """What the operator console verifies district links with: public keys only."""
    jwks = parameters.get_parameter(
        get_settings().district_link_public_keys_parameter, transform="json", max_age=SECRET_MAX_AGE
    )
    return PublicKeys.from_jwks(jwks if isinstance(jwks, dict) else {})
