"""The app's side of a sign-in: a login code exchanged for a session, and the public keys that
verify sessions. Included in the SSO function's resolver (app.py), with the function's stores."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from smartpass.data.stores import Stores
from smartpass.settings import get_settings
from smartpass.sso.session import LoginCodeRejected, redeem_login_code
from smartpass_aws.signing_keys import signing_key, signing_keys
from sso_callback.responses import NO_STORE, refuse

# Verifiers may keep our public keys a few minutes (the function itself caches the secret as
# long), so a rotated key reaches them within that time.
JWKS_CACHE = {"Cache-Control": "public, max-age=300"}


def session_routes(stores: Stores) -> APIGatewayHttpRouter:
    """The routes, redeeming login codes in `stores` (the handler builds them once at start)."""
    router = APIGatewayHttpRouter()

    @router.post("/sso/session")
    def session() -> Response:
        try:
            body = router.current_event.json_body if router.current_event.body else {}
        except ValueError:
            body = {}
        code = body.get("login_code") if isinstance(body, dict) else None
        issuer = f"smartpass-classlink-{get_settings().stage}"
        try:
            token = redeem_login_code(stores, str(code or ""), signing_key(), issuer)
        except LoginCodeRejected:
            return refuse(router, "invalid_login_code")
        return Response(200, content_types.APPLICATION_JSON, {"session_token": token}, NO_STORE)

    @router.get("/.well-known/jwks.json")
    def jwks() -> Response:
        """The current key and, after a rotation, the previous one: a session signed just before
        the rotation still verifies until it expires."""
        return Response(
            200, content_types.APPLICATION_JSON, {"keys": signing_keys().public_jwks()}, JWKS_CACHE
        )

    return router
