"""An operator registers a district by hand, with the OAuth1 key, secret and endpoint the
district sent (Roster Server -> App Overview -> API, classlink-facts C3). The same connection
check and first sync as a district found by the poll; the poll leaves such a district alone."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from smartpass.classlink.partner_api import DirectServer
from smartpass.data.districts import ConnectionMode, District, DistrictState
from smartpass.district_state import record_event
from smartpass.onboarding.connect import ConnectOutcome, OnboardingServices, connect_district
from smartpass.onboarding.credentials import oauth1_credentials
from smartpass.sync.requests import TENANT_ID_PATTERN

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
TENANT_ID = re.compile(TENANT_ID_PATTERN)


class RegistrationError(ValueError):
    """The registration cannot be accepted; the message says why in plain words."""


def _check_endpoint(endpoint_url: str) -> str:
    parts = urlsplit(endpoint_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RegistrationError("the endpoint must be an https:// URL of the district's Roster Server")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise RegistrationError("the endpoint must use https: roster data never travels in clear text")
    if parts.query or parts.fragment:
        raise RegistrationError("the endpoint must not carry a query or fragment")
    return endpoint_url.strip().rstrip("/")


def register_district(
    tenant_id: str,
    name: str,
    client_id: str,
    client_secret: str,
    endpoint_url: str,
    operator: str,
    services: OnboardingServices,
    contact_email: str | None = None,
) -> ConnectOutcome:
    if not TENANT_ID.fullmatch(tenant_id):
        raise RegistrationError("the tenant id must be ClassLink's tenant id (1-32 of A-Z, a-z, 0-9, - or _)")
    if not client_id or not client_secret:
        raise RegistrationError("both the OAuth1 key and secret are needed")
    server = DirectServer(
        client_id=client_id, client_secret=client_secret, endpoint_url=_check_endpoint(endpoint_url)
    )
    actor = f"operator:{operator}"
    district = District(
        tenant_id=tenant_id,
        name=name,
        state=DistrictState.CONNECTING.value,
        state_reason="registered by an operator; connecting",
        registration="operator",
        connection_mode=ConnectionMode.OAUTH1.value,
        contact_email=contact_email,
    )
    stores = services.stores
    if stores.districts.add(district):
        record_event(
            stores,
            tenant_id,
            "registered",
            actor,
            "registered by hand with the district's OAuth1 key",
            None,
            district.state,
        )
    else:
        existing = stores.districts.get(tenant_id)
        assert existing is not None  # a district is never deleted
        district = existing
        # A Partner API district ClassLink gives no usable key for (the documented /server
        # sample has an empty secret) is the operator's to take over.
        stuck = district.state == DistrictState.ERROR.value and district.connection_ok is False
        if district.registration != "operator" and not stuck:
            raise RegistrationError(
                f"tenant {tenant_id} is already connected through the ClassLink Partner API; "
                "it needs no key by hand"
            )
        changes: dict[str, object] = {"name": name, "registration": "operator", "onboarding_request": None}
        if contact_email:
            changes["contact_email"] = contact_email
        stores.districts.update(district, changes)
        record_event(stores, tenant_id, "registered", actor, "registered again by hand with a new OAuth1 key")
    return connect_district(district, oauth1_credentials(server), services, actor)
