"""What the SSO routes need from outside the domain: ClassLink's OIDC client (created on first
use, keeping discovery and keys while the function is warm) and the secrets, read through
Powertools Parameters with a cache."""

from __future__ import annotations

import functools

from aws_lambda_powertools.utilities import parameters

from smartpass.classlink.oidc import OidcClient
from smartpass.settings import get_settings
from smartpass.sso.callback import SsoConfig
from smartpass_aws.signing_keys import SECRET_MAX_AGE


@functools.cache
def oidc() -> OidcClient:
    settings = get_settings()
    return OidcClient(settings.classlink_launchpad_url, settings.classlink_nodeapi_url)


def sso_config() -> SsoConfig:
    settings = get_settings()
    client = parameters.get_secret(settings.sso_client_secret_id, transform="json", max_age=SECRET_MAX_AGE)
    return SsoConfig(
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        redirect_uri=settings.sso_redirect_uri,
        app_url=settings.smartpass_app_url,
    )
