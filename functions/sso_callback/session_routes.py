"""The app's side of a sign-in: a login code exchanged for a session, and the public keys that
verify sessions. Included in the SSO function's resolver (app.py), with the function's stores."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from smartpass.data.stores import Stores
from smartpass.settings import get_settings
from smartpass.sso.session import LoginCodeRejected, code_cookie_name, redeem_login_code
from smartpass_aws.signing_keys import signing_key, signing_keys
from sso_callback.responses import NO_STORE, SESSION_PATH, refuse, request_cookies, spent_code_cookie

# Verifiers may keep our public keys a few minutes (the function itself caches the secret as
# long), so a rotated key reaches them within that time.
JWKS_CACHE = {"Cache-Control": "public, max-age=300"}


def session_routes(stores: Stores) -> APIGatewayHttpRouter:
    """The routes, redeeming login codes in `stores` (the handler builds them once at start)."""
    router = APIGatewayHttpRouter()

    @router.post(SESSION_PATH)
    def session() -> Response:
        """`{"login_code"}` with the code's cookie (set by the callback in the browser that finished
        the login; the app's fetch sends it with `credentials: "include"`), or `{"login_code",
        "code_verifier"}` for a login the client started with a PKCE challenge."""
        try:
            body = router.current_event.json_body if router.current_event.body else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code, verifier = str(body.get("login_code") or ""), body.get("code_verifier")
        cookie_name = code_cookie_name(code)
        settings = get_settings()
        try:
            token = redeem_login_code(
                stores,
                code,
                signing_key(),
                f"smartpass-classlink-{settings.stage}",
                cookie=request_cookies(router.current_event.cookies).get(cookie_name),
                code_verifier=str(verifier) if verifier is not None else None,
            )
        except LoginCodeRejected:
            return refuse(router, "invalid_login_code")
        secure = settings.sso_redirect_uri.startswith("https://")
        return Response(
            200,
            content_types.APPLICATION_JSON,
            {"session_token": token},
            NO_STORE,
            cookies=[spent_code_cookie(cookie_name, secure)],
        )

    @router.get("/.well-known/jwks.json")
    def jwks() -> Response:
        """The current key and, after a rotation, the previous one: a session signed just before
        the rotation still verifies until it expires."""
        return Response(
            200, content_types.APPLICATION_JSON, {"keys": signing_keys().public_jwks()}, JWKS_CACHE
        )

    return router
