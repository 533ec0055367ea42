"""The district link keys' public halves, in an SSM parameter (a JWKS): the worker, which signs
links, publishes them before it signs with a key not yet listed; the operator console reads only
them, so it can verify a link and never sign one (or a session)."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from smartpass.settings import get_settings
from smartpass.sso.session import PublicKeys, SigningKey
from smartpass_aws import clients
from smartpass_aws.signing_keys import SECRET_MAX_AGE, district_link


def published_kids(fresh: bool = False) -> set[str]:
    jwks = parameters.get_parameter(
        get_settings().district_link_public_keys_parameter,
        transform="json",
        max_age=SECRET_MAX_AGE,
        force_fetch=fresh,
    )
    return {str(k.get("kid")) for k in (jwks or {}).get("keys", []) if isinstance(k, dict)}


def link_signing_key() -> SigningKey:
    """The key to sign a district link with, its public half published first (with the previous
    key's, so links sent before a rotation still open). The console reads the parameter within
    five minutes; a link opened sooner after a rotation is refused, then opens."""
    keys = district_link.all()
    if keys.current.kid not in published_kids():
        clients.ssm().put_parameter(
            Name=get_settings().district_link_public_keys_parameter,
            Value=json.dumps({"keys": keys.public_jwks()}),
            Type="String",
            Overwrite=True,
        )
        published_kids(fresh=True)  # this warm worker's cached copy follows at once
    return keys.current


def link_public_keys() -> PublicKeys:
    """What the operator console verifies district links with: public keys only."""
    jwks = parameters.get_parameter(
        get_settings().district_link_public_keys_parameter, transform="json", max_age=SECRET_MAX_AGE
    )
    return PublicKeys.from_jwks(jwks if isinstance(jwks, dict) else {})
