"""SnapStart's restore hook for the SSO function (sso_callback/snapshot.py): a copy restored from
the snapshot gets a new ClassLink client (its connections and monotonic-clock caches are the
snapshot's), reads its secrets again (a key rotated since the snapshot is used at once) and new
DynamoDB connections, and signs people in as before."""

from __future__ import annotations

import json

import requests
from aws_lambda_powertools.utilities import parameters
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from classlink_sandbox.server import SandboxServer
from local_stack.stack import LocalStack
from smartpass.data.districts import District
from smartpass.settings import get_settings
from smartpass_aws.signing_keys import signing_key
from sso_callback import snapshot
from sso_callback.services import oidc
from tests.integration.onboarding_helpers import poll
from tests.integration.sso_helpers import launchpad_browser, login_code, our_launch, session_claims
from tests.integration.sync_helpers import TENANT


def test_a_restored_copy_renews_what_the_snapshot_holds_and_still_signs_people_in(
    stack: LocalStack, stack_sandbox: SandboxServer
) -> None:
    poll(stack)
    before = oidc()
    before.discovery()  # cached in the snapshot, with the snapshot's connections
    connection = District._connection
    secrets, secret_id = stack.client("secretsmanager"), stack.environment["SESSION_SIGNING_KEY_SECRET_ID"]
    original = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    assert signing_key().kid == "local-1"  # cached for five minutes
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    secrets.put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"kid": "after-restore", "private_key_pem": pem})
    )
    try:
        assert signing_key().kid == "local-1"  # the snapshot's cache
        snapshot.renew(get_settings())
        assert oidc() is not before and signing_key().kid == "after-restore"
        assert District._connection is None or District._connection is not connection
        user = next(
            u
            for u in stack_sandbox.world.tenants[int(TENANT)].users().values()
            if u["role"] == "teacher" and u["status"] == "active"
        )
        browser = launchpad_browser(stack_sandbox, int(TENANT), user["sourcedId"])
        assert session_claims(stack, login_code(our_launch(browser, stack)), browser)["tenant_id"] == TENANT
        assert stack.gateway is not None
        kids = [
            k["kid"]
            for k in requests.get(f"{stack.gateway.url}/.well-known/jwks.json", timeout=10).json()["keys"]
        ]
        assert kids[0] == "after-restore"
    finally:
        secrets.put_secret_value(SecretId=secret_id, SecretString=original)
        for version in secrets.list_secret_version_ids(SecretId=secret_id)["Versions"]:
            if "AWSPREVIOUS" in version.get("VersionStages", []):
                secrets.update_secret_version_stage(
                    SecretId=secret_id, VersionStage="AWSPREVIOUS", RemoveFromVersionId=version["VersionId"]
                )
        parameters.clear_caches()
