"""A local HTTP API: matches the template's HttpApi routes and invokes the handler with a
payload-2.0 event, then turns the handler's response back into HTTP. A route that declares the
AWS_IAM authorizer answers 403 to a request without a valid SigV4 signature, as API Gateway does."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from local_stack.cors import CorsRules
from local_stack.functions import LocalFunction
from local_stack.http_server import LoopbackServer
from local_stack.lambda_events import http_api_event
from local_stack.sigv4 import IamAuthorizer, SignedRequest

FORBIDDEN = '{"message":"Forbidden"}'


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: LocalFunction
    # Set for routes with `Auth: {Authorizer: AWS_IAM}`; None: open to anyone.
    authorizer: IamAuthorizer | None = None

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


class HttpGateway:
    def __init__(self, routes: list[Route], host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes = routes
        self.cors: CorsRules | None = None  # the template's CorsConfiguration, set when wired
        self._http = LoopbackServer(self._wsgi, "http-gateway", host, port)
        self.url = self._http.origin

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        preflight = self.cors.preflight(request) if self.cors else None
        response = preflight or self._dispatch(request)
        if self.cors and preflight is None:
            response = self.cors.apply(request, response)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is None:
                continue
            headers = {k.lower(): v for k, v in request.headers.items()}
            caller = None
            if route.authorizer is not None:
                caller = route.authorizer.authorize(_signed_request(request, headers))
                if caller is None:
                    return Response(FORBIDDEN, 403, content_type="application/json")
            headers["x-forwarded-proto"] = "http"
            headers.setdefault("x-forwarded-for", request.remote_addr or "127.0.0.1")
            event = http_api_event(
                method=request.method,
                path=request.path,
                raw_query=request.query_string.decode("latin-1"),
                headers=headers,
                body=request.get_data(),
                source_ip=request.remote_addr or "127.0.0.1",
                route_key=f"{route.method} {route.path}",
                path_parameters=params,
                domain_name=request.host,
                authorizer={"iam": caller} if caller else None,
            )
            outcome = route.function.invoke(event, kind="http")
            if not outcome.ok:
                # What API Gateway answers when the integration throws.
                return Response('{"message":"Internal Server Error"}', 500, content_type="application/json")
            return _to_http(outcome.result)
        return Response('{"message":"Not Found"}', 404, content_type="application/json")


def _signed_request(request: Request, headers: dict[str, str]) -> SignedRequest:
    """The request as signed: the path and query exactly as they came (still percent-encoded)."""
    raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path)
    raw_path, _, raw_query = raw.partition("?")
    return SignedRequest(
        method=request.method,
        host=request.host,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=dict(headers),
        body=request.get_data(),
    )


def _to_http(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0 lets a handler return a bare value: API Gateway sends it as JSON 200.
        return Response(json.dumps(result), 200, content_type="application/json")
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(raw, int(result["statusCode"]))
    response.headers.clear()
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response
