"""API Gateway's CORS for an HTTP API, from the template's `CorsConfiguration`, as AWS applies it:
API Gateway answers every preflight itself (the function never sees an OPTIONS request) and puts
the CORS headers on the answers to an allowed origin, replacing any the function set. An origin
not listed gets no CORS headers at all: the browser then refuses the answer to the page. Never
`*` with credentials, never an origin reflected that is not listed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
)


@dataclass(frozen=True)
class CorsRules:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    credentials: bool
    max_age: int | None

    @classmethod
    def from_template(cls, config: Mapping[str, Any] | None) -> CorsRules | None:
        if not config:
            return None
        origins = [str(o) for o in config.get("AllowOrigins", [])]
        credentials = str(config.get("AllowCredentials", "false")).lower() == "true"
        if credentials and "*" in origins:  # API Gateway refuses to deploy this, and so do we
            raise ValueError("CorsConfiguration: AllowCredentials with AllowOrigins '*'")
        return cls(
            origins=tuple(str(o) for o in config.get("AllowOrigins", [])),
            methods=tuple(str(m).upper() for m in config.get("AllowMethods", [])),
            headers=tuple(str(h).lower() for h in config.get("AllowHeaders", [])),
            credentials=str(config.get("AllowCredentials", "false")).lower() == "true",
            max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
        )

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and (origin in self.origins or "*" in self.origins)

    def preflight(self, request: Request) -> Response | None:
        """The answer to a preflight, or None when the request is not one."""
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        response = Response(status=204)
        origin = request.headers.get("Origin")
        method = request.headers["Access-Control-Request-Method"].upper()
        asked = [
            h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",")
        ]
        if self.allows(origin) and method in self.methods and all(h in self.headers for h in asked if h):
            response.headers["Access-Control-Allow-Methods"] = ", ".join(self.methods)
            response.headers["Access-Control-Allow-Headers"] = ", ".join(self.headers)
            if self.max_age is not None:
                response.headers["Access-Control-Max-Age"] = str(self.max_age)
            self._allow(response, str(origin))
        return response

    def apply(self, request: Request, response: Response) -> Response:
        for name in CORS_HEADERS:
            response.headers.pop(name, None)
        origin = request.headers.get("Origin")
        if self.allows(origin):
            self._allow(response, str(origin))
        return response

    def _allow(self, response: Response, origin: str) -> None:
        # With credentials the origin is named (browsers refuse `*` with credentials); without,
        # `*` configured is answered as `*`.
        wildcard = "*" in self.origins and not self.credentials
        response.headers["Access-Control-Allow-Origin"] = "*" if wildcard else origin
        response.headers.add("Vary", "Origin")
        if self.credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
