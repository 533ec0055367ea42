"""The route that starts a sign-in ("Sign in with ClassLink", and the tile's bounce ends in the
same login): state, nonce and PKCE stored, the browser sent to ClassLink. Included in the SSO
function's resolver (app.py), with the function's stores."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from smartpass.data.stores import Stores
from smartpass.settings import get_settings
from smartpass.sso.callback import UnknownDestination, start_login
from smartpass.sso.launch import InvalidCodeChallenge, InvalidReturnPath, checked_code_challenge
from sso_callback.responses import login_redirect, refuse
from sso_callback.services import oidc, sso_config

metrics = Metrics()


def launch_routes(stores: Stores) -> APIGatewayHttpRouter:
    router = APIGatewayHttpRouter()

    @router.get("/sso/classlink/launch")
    def launch() -> Response:
        settings = get_settings()
        if not settings.sso_redirect_uri:
            return refuse(router, "not_configured")
        query = router.current_event
        try:
            start = start_login(
                stores,
                oidc(),
                sso_config(),
                query.get_query_string_value("return_to", "/") or "/",
                checked_code_challenge(
                    query.get_query_string_value("code_challenge"),
                    query.get_query_string_value("code_challenge_method"),
                ),
                # a page of ours to end on instead of the app (the district holds page)
                query.get_query_string_value("destination"),
            )
        except (InvalidReturnPath, UnknownDestination):
            return refuse(router, "bad_return_path")
        except InvalidCodeChallenge:
            return refuse(router, "bad_code_challenge")
        metrics.add_metric(name="LoginsStarted", unit=MetricUnit.Count, value=1)
        return login_redirect(start, settings.sso_redirect_uri.startswith("https://"))

    return router
