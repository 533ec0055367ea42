"""Rotating the session signing key, as an operator does it (a new value of the secret with a new
`kid`; Secrets Manager moves the old value to AWSPREVIOUS), breaks nothing already issued: our
JWKS publishes the new key and the previous one, a session made just before still verifies, new
sessions are signed with the new key, and a district link sent before the rotation still opens
its page. A key older than the previous one is trusted no more."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import requests
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.operations.district_link import make_token
from smartpass.settings import get_settings
from smartpass.sso.session import SESSION_AUDIENCE, SigningKey
from smartpass_aws.link_keys import link_signing_key
from smartpass_aws.signing_keys import signing_keys
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import exchange, launchpad_browser, login_code, our_launch, session_claims
from tests.integration.sync_helpers import TENANT

SESSION_KEY, LINK_KEY = "SESSION_SIGNING_KEY_SECRET_ID", "DISTRICT_LINK_SIGNING_KEY_SECRET_ID"


@pytest.fixture
def rotate(stack: LocalStack) -> Iterator[Callable[..., SigningKey]]:
    """Put a new key as the current version (of the session key, or the key named); afterwards,
    each original back with no previous version, as the stack started."""
    secrets, ssm = stack.client("secretsmanager"), stack.client("ssm")
    originals = {  # as the test starts, whatever it then puts
        stack.environment[name]: secrets.get_secret_value(SecretId=stack.environment[name])["SecretString"]
        for name in (SESSION_KEY, LINK_KEY)
    }
    published = stack.environment["DISTRICT_LINK_PUBLIC_KEYS_PARAMETER"]
    published_before = ssm.get_parameter(Name=published)["Parameter"]["Value"]

    def rotate(kid: str, expire_caches: bool = True, key_name: str = SESSION_KEY) -> SigningKey:
        secret_id = stack.environment[key_name]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        secrets.put_secret_value(
            SecretId=secret_id, SecretString=json.dumps({"kid": kid, "private_key_pem": pem})
        )
        if expire_caches:
            parameters.clear_caches()  # as if the functions' five-minute cache had run out
        return SigningKey(kid=kid, private_key=key)

    yield rotate
    ssm.put_parameter(Name=published, Value=published_before, Type="String", Overwrite=True)
    for secret_id, original in originals.items():
        secrets.put_secret_value(SecretId=secret_id, SecretString=original)
        for version in secrets.list_secret_version_ids(SecretId=secret_id)["Versions"]:
            if "AWSPREVIOUS" in version.get("VersionStages", []):
                secrets.update_secret_version_stage(
                    SecretId=secret_id, VersionStage="AWSPREVIOUS", RemoveFromVersionId=version["VersionId"]
                )
    parameters.clear_caches()


def published(stack: LocalStack) -> dict[str, Any]:
    assert stack.gateway is not None
    return dict(requests.get(f"{stack.gateway.url}/.well-known/jwks.json", timeout=10).json())


def verify(session_token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    kid = jwt.get_unverified_header(session_token)["kid"]
    key = next(
        k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid
    )  # StopIteration: not published
    return dict(jwt.decode(session_token, key.key, algorithms=["RS256"], audience=SESSION_AUDIENCE))


def session_token(stack: LocalStack, sandbox: SandboxServer) -> str:
    user = next(
        u
        for u in sandbox.world.tenants[int(TENANT)].users().values()
        if u["role"] == "teacher" and u["status"] == "active"
    )
    browser = launchpad_browser(sandbox, int(TENANT), user["sourcedId"])
    code = login_code(our_launch(browser, stack))
    answer = exchange(stack, browser, code)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["session_token"])


def kids(jwks: dict[str, Any]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


def test_sessions_made_before_a_rotation_verify_until_the_next_one(
    stack: LocalStack, stack_sandbox: SandboxServer, rotate: Callable[[str], SigningKey]
) -> None:
    poll(stack)  # discovered, connected and synced
    assert kids(published(stack)) == ["local-1"]  # never rotated (or restored by the fixture): one key
    before = session_token(stack, stack_sandbox)

    rotate("rotated-2")
    assert kids(published(stack)) == ["rotated-2", "local-1"]
    assert verify(before, published(stack))["tenant_id"] == TENANT
    after = session_token(stack, stack_sandbox)
    assert jwt.get_unverified_header(after)["kid"] == "rotated-2"
    assert verify(after, published(stack))["tenant_id"] == TENANT
    assert all("d" not in key for key in published(stack)["keys"])  # public halves only

    rotate("rotated-3")
    assert kids(published(stack)) == ["rotated-3", "rotated-2"]
    with pytest.raises(StopIteration):
        verify(before, published(stack))  # two rotations ago: no longer published
    browser = launchpad_browser(
        stack_sandbox, int(TENANT), jwt.decode(after, options={"verify_signature": False})["sourced_id"]
    )
    code = login_code(our_launch(browser, stack))
    assert session_claims(stack, code, browser)["tenant_id"] == TENANT  # the app's own check still passes


def test_a_district_link_sent_before_a_rotation_still_opens_its_page(
    stack: LocalStack, rotate: Callable[[str], SigningKey]
) -> None:
    poll(stack)
    assert stack.gateway is not None
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.environment[LINK_KEY])
    sent = make_token(TENANT, SigningKey.from_secret(json.loads(secret["SecretString"])), get_settings())

    url = f"{stack.gateway.url}/district/status"

    def page(token: str) -> requests.Response:
        return requests.get(url, params={"token": token}, timeout=30)

    newer = rotate("link-2", key_name=LINK_KEY)
    assert link_signing_key().kid == "link-2"  # the worker publishes the new public key before it signs
    parameters.clear_caches()  # the console's five-minute cache
    assert page(sent).status_code == 200 and "Maple Valley" in page(sent).text
    assert page(make_token(TENANT, newer, get_settings())).status_code == 200

    rotate("link-3", key_name=LINK_KEY)
    link_signing_key()
    parameters.clear_caches()
    refused = page(sent)
    assert refused.status_code == 403 and "This link is not valid" in refused.text


def test_the_previous_key_follows_the_current_one_whatever_expires_first(
    stack: LocalStack, rotate: Callable[..., SigningKey]
) -> None:
    """Both keys are cached for five minutes, but not from the same moment: when only the
    current one has expired, the previous one is read again instead of pairing the new key with
    the one before the last."""
    rotate("rotated-2", True)
    assert [k.kid for k in (signing_keys().current, signing_keys().previous) if k] == ["rotated-2", "local-1"]
    rotate("rotated-3", False)  # both values still cached...
    DEFAULT_PROVIDERS.pop("secrets")  # ...until the current one's time is up
    keys = signing_keys()
    assert (keys.current.kid, keys.previous and keys.previous.kid) == ("rotated-3", "rotated-2")


def test_an_unusable_previous_value_leaves_the_current_key_published(
    stack: LocalStack, rotate: Callable[[str], SigningKey]
) -> None:
    secrets, secret_id = stack.client("secretsmanager"), stack.environment["SESSION_SIGNING_KEY_SECRET_ID"]
    secrets.put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"kid": "typo", "private_key_pem": "x"})
    )
    rotate("rotated-2")  # the bad value is now the previous one
    assert kids(published(stack)) == ["rotated-2"]


def test_the_session_key_cannot_open_a_district_page_nor_the_link_key_make_a_session(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    """Separate keys (security review finding 2): a district link signed with the session key is
    refused, and the link key is not among the keys that verify sessions."""
    poll(stack)  # its report publishes the link key's public half
    assert stack.gateway is not None
    session_secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.environment[SESSION_KEY])
    session_key = SigningKey.from_secret(json.loads(session_secret["SecretString"]))
    forged = make_token(TENANT, session_key, get_settings())
    page = requests.get(f"{stack.gateway.url}/district/status", params={"token": forged}, timeout=30)
    assert page.status_code == 403
    assert link_signing_key().kid not in kids(published(stack))


def test_a_leaked_link_key_taken_out_of_trust_stops_opening_links_with_the_next_link_signed(
    stack: LocalStack, rotate: Callable[..., SigningKey]
) -> None:
    poll(stack)
    assert stack.gateway is not None
    secrets = stack.client("secretsmanager")
    secret_id = stack.environment[LINK_KEY]
    leaked = SigningKey.from_secret(json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"]))
    sent = make_token(TENANT, leaked, get_settings())
    url = f"{stack.gateway.url}/district/status"
    rotate("link-2", key_name=LINK_KEY)
    link_signing_key()
    parameters.clear_caches()
    assert requests.get(url, params={"token": sent}, timeout=30).status_code == 200  # before the revocation
    # The runbook's revocation: the leaked version leaves AWSPREVIOUS...
    for version in secrets.list_secret_version_ids(SecretId=secret_id)["Versions"]:
        if "AWSPREVIOUS" in version.get("VersionStages", []):
            secrets.update_secret_version_stage(
                SecretId=secret_id, VersionStage="AWSPREVIOUS", RemoveFromVersionId=version["VersionId"]
            )
    parameters.clear_caches()
    assert link_signing_key().kid == "link-2"  # ...and the next link the worker signs republishes
    parameters.clear_caches()
    assert requests.get(url, params={"token": sent}, timeout=30).status_code == 403
