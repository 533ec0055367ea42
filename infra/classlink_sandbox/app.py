"""The sandbox's HTTP surface (one WSGI app, several ClassLink hosts as path prefixes):

/partner/...    oneroster-proxy.apis.classlink.com: Partner API and the OneRoster proxy
/tenants/<slug> a district's own Roster Server (OAuth 1.0a)
/launchpad/...  launchpad.classlink.com: OIDC discovery, /oauth2/v2/*, the LaunchPad UI
/nodeapi/...    nodeapi.classlink.com: /v2/my/info
/admin/...      sandbox control: faults, districts and their changes, key rotation (admin token)

Admin routes (header `X-Sandbox-Admin: <admin_token>`, JSON bodies):
  POST /admin/tenants                 a DistrictSpec as JSON -> 201 tenant summary (400 if invalid;
                                      an existing tenant_id is replaced and keeps its row id)
  GET  /admin/tenants                 every tenant's summary (listed or not)
  GET  /admin/tenants/{id}            one tenant's summary (404 if unknown)
  POST /admin/tenants/{id}/changes    one change op (changes.py) -> its result
  POST|GET|DELETE /admin/faults, POST /admin/keys/rotate, POST /admin/pkce
  POST /admin/id-token-claims         {"mode": "standard"} issues id_tokens with the standard OIDC
                                      claims only (A4), "classlink" (default) adds classLink_*
  GET|PUT|DELETE /admin/paging, /admin/tenants/{id}/paging, GET|PUT /admin/latency,
  GET|DELETE /admin/traffic           serving settings and measures (serving_admin.py)
  PUT|DELETE /admin/tenants/{id}/marks/{name}, GET .../marks/{name}/changes
                                      a digest per served record, and how many changed since
                                      (marks.py)
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from html import escape
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from classlink_sandbox import launchpad
from classlink_sandbox.changes import apply_change
from classlink_sandbox.faults import Fault, FaultBook
from classlink_sandbox.generator import DistrictSpec, generate
from classlink_sandbox.marks import MarkBook
from classlink_sandbox.oauth1 import OAuth1Error, Verifier
from classlink_sandbox.oidc import OAuthError, OidcProvider
from classlink_sandbox.oneroster import OneRosterError, QueryEngine, related_ids
from classlink_sandbox.paging import page_headers
from classlink_sandbox.serving_admin import serving_route
from classlink_sandbox.world import Tenant, World

ONEROSTER_PREFIX = "/ims/oneroster/v1p1/"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")), status, headers=headers, content_type="application/json"
    )


def _unauthorized(description: str) -> Response:
    return _json(OneRosterError(401, "unauthorisedrequest", description).body(), 401)


# The hint on every "redirect URI not registered" page: the standalone sandbox registers its
# OAuth2 client with the URIs given on its command line.
REDIRECT_URI_HINT = (
    "<p>Register the app's redirect URI: start the sandbox with "
    "<code>python -m classlink_sandbox --redirect-uri URI</code> (repeatable; "
    "<code>make sandbox ARGS='--redirect-uri URI'</code>), or add it to the client in "
    "<code>World.clients</code> when the sandbox runs in-process.</p>"
)


def district_base_href(spec: DistrictSpec) -> str:
    """The district's own Roster Server host in its records' hrefs (B1)."""
    return f"https://{spec.name.lower().replace(' ', '')}-nj-v2.rosterserver.com"


DISTRICT_SPEC_FIELDS = frozenset(f.name for f in fields(DistrictSpec))


@dataclass
class LaunchPadSession:
    tenant_id: int
    sourced_id: str
    impersonated_by: str | None = None


@dataclass
class SandboxApp:
    world: World
    base_url: str = ""
    faults: FaultBook = field(default_factory=FaultBook)
    engine: QueryEngine = field(default_factory=QueryEngine)
    marks: MarkBook = field(default_factory=MarkBook)
    oidc: OidcProvider | None = None
    verifier: Verifier | None = None
    sessions: dict[str, LaunchPadSession] = field(default_factory=dict)
    requests_served: int = 0

    def __post_init__(self) -> None:
        self.oidc = self.oidc or OidcProvider(self.world)
        self.verifier = Verifier(self._oauth1_secret)

    def set_base_url(self, base_url: str) -> None:
        self.base_url = base_url
        assert self.oidc is not None
        self.oidc.issuer = f"{base_url}/launchpad"
        self.oidc.nodeapi_url = f"{base_url}/nodeapi"

    def add_district(self, spec: DistrictSpec) -> Tenant:
        """Generate a district and add it (replacing one with the same tenant_id)."""
        tenant = generate(spec, base_href=district_base_href(spec))
        with self.world.lock:
            return self.world.add_tenant(tenant)

    def _oauth1_secret(self, key: str) -> str | None:
        return next((t.oauth1_secret for t in self.world.tenants.values() if t.oauth1_key == key), None)

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        raw_path = _raw_path(request)
        self.requests_served += 1
        oneroster, tenant_id = self._traffic_of(raw_path)
        if not oneroster:
            return self._answer(request, raw_path, environ, start_response)
        with self.world.traffic.oneroster(tenant_id):
            return self._answer(request, raw_path, environ, start_response)

    def _answer(
        self, request: Request, raw_path: str, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        try:
            response = self.dispatch(request, raw_path)
        except OneRosterError as exc:
            response = _json(exc.body(), exc.status)
        except _Dropped:
            _drop_connection(environ)
            return []
        return response(environ, start_response)

    def _traffic_of(self, raw_path: str) -> tuple[bool, int | None]:
        """Whether a request is a OneRoster read (proxy or direct), and its tenant when known;
        counts a Partner API request as it goes."""
        if raw_path.startswith("/partner/applications"):
            self.world.traffic.partner()
            return False, None
        if raw_path.startswith("/partner/"):
            app_id, _, rest = raw_path[len("/partner/") :].partition("/")
            with self.world.lock:
                tenant = self.world.tenant_by_application_id(app_id)
        elif raw_path.startswith("/tenants/"):
            slug, _, rest = raw_path[len("/tenants/") :].partition("/")
            with self.world.lock:
                tenant = self.world.tenant_by_slug(slug)
        else:
            return False, None
        if not ("/" + rest).startswith(ONEROSTER_PREFIX):
            return False, None
        return True, None if tenant is None else tenant.tenant_id

    def dispatch(self, request: Request, raw_path: str) -> Response:
        with self.world.lock:
            if raw_path.startswith("/partner/"):
                return self._partner(request, raw_path[len("/partner") :])
            if raw_path.startswith("/tenants/"):
                return self._direct(request, raw_path)
            if raw_path.startswith("/launchpad"):
                return self._launchpad(request, raw_path[len("/launchpad") :] or "/")
            if raw_path.startswith("/nodeapi/"):
                return self._nodeapi(request, raw_path[len("/nodeapi") :])
            if raw_path.startswith("/admin/"):
                return self._admin(request, raw_path[len("/admin") :])
        return _json({"error": "not_found"}, 404)

    # ------------------------------------------------------------------ Partner API + proxy
    def _partner(self, request: Request, path: str) -> Response:
        auth = request.headers.get("Authorization", "")
        if path == "/applications" or path.startswith("/applications/"):
            if auth != f"Bearer {self.world.partner_api_key}":
                return _json({"status": 0, "message": "Unauthorized"}, 401)
            fault = self.faults.take(None, "applications")
            early = self._early_fault(fault)
            if early is not None:
                return early
            if path == "/applications":
                params = dict(parse_qsl(request.query_string.decode()))
                offset, limit = int(params.get("offset", 0) or 0), int(params.get("limit", 100) or 100)
                rows = self.world.application_rows()[offset : offset + limit]
                # C3: an array, and no count headers at all.
                return _body({"status": 1, "applications": [] if _is(fault, "empty") else rows}, fault, {})
            parts = path.split("/")
            if len(parts) == 4 and parts[3] == "server":
                tenant = self.world.tenant_by_application_id(parts[2])
                if tenant is None:
                    return _json({"status": 0, "message": "Application not found"}, 404)
                return _json(
                    {
                        "status": 1,
                        "message": "",
                        "server": {
                            "client_id": tenant.oauth1_key,
                            "client_secret": tenant.oauth1_secret,
                            "endpoint_url": f"{self.base_url}/tenants/{tenant.slug}",
                        },
                    }
                )
            return _json({"status": 0, "message": "Not found"}, 404)
        # /{oneroster_application_id}/ims/oneroster/v1p1/... through the proxy (B2.2, E5)
        app_id, _, rest = path[1:].partition("/")
        tenant = self.world.tenant_by_application_id(app_id)
        if tenant is None or not ("/" + rest).startswith(ONEROSTER_PREFIX):
            raise OneRosterError(404, "unknownobject", "unknown application or path")
        if tenant.oauth1_only:
            # C3: its /applications row has "bearer": null; only direct OAuth1 reaches it.
            return _unauthorized("this application has no proxy access (bearer is null): use OAuth1")
        if not (tenant.enabled and tenant.listed) or auth != f"Bearer {tenant.bearer}":
            return _unauthorized("invalid bearer for this application")
        return self._oneroster(request, tenant, ("/" + rest)[len(ONEROSTER_PREFIX) :])

    def _direct(self, request: Request, raw_path: str) -> Response:
        slug, _, rest = raw_path[len("/tenants/") :].partition("/")
        tenant = self.world.tenant_by_slug(slug)
        if tenant is None or not ("/" + rest).startswith(ONEROSTER_PREFIX):
            raise OneRosterError(404, "unknownobject", "unknown tenant or path")
        assert self.verifier is not None
        base_url = f"{request.scheme}://{request.host.lower()}{raw_path}"
        try:
            key = self.verifier.verify(
                request.method,
                base_url,
                request.query_string.decode("latin-1"),
                request.headers.get("Authorization", ""),
            )
        except OAuth1Error as exc:
            return _unauthorized(str(exc))
        if key != tenant.oauth1_key or not (tenant.enabled and tenant.listed):
            return _unauthorized("this key is not for this tenant")
        return self._oneroster(request, tenant, ("/" + rest)[len(ONEROSTER_PREFIX) :])

    def _oneroster(self, request: Request, tenant: Tenant, path: str) -> Response:
        params = dict(parse_qsl(request.query_string.decode(), keep_blank_values=True))
        parts = [p for p in path.split("/") if p]
        parts = [unquote(p) for p in parts]
        if len(parts) == 2:
            envelope, record = self.engine.one(tenant, parts[0], parts[1], params)
            self._wait_unlocked(self.world.latency.seconds(1))
            return _json({envelope: record}, headers={"x-perm-rev": str(tenant.perm_rev)})
        if len(parts) not in (1, 3):
            raise OneRosterError(404, "unknownobject", f"unknown endpoint {path}")
        endpoint = parts[-1]
        within = related_ids(tenant, parts[0], parts[1], endpoint) if len(parts) == 3 else None
        response, rows = self._collection(request, tenant, endpoint, params, within)
        self._wait_unlocked(self.world.latency.seconds(rows))
        return response

    def _collection(
        self, request: Request, tenant: Tenant, endpoint: str, params: dict[str, str], within: set[str] | None
    ) -> tuple[Response, int]:
        """A page and how many rows it holds, shaped by the tenant's paging and bent by a fault."""
        fault = self.faults.take(tenant.tenant_id, endpoint)
        early = self._early_fault(fault)
        if early is not None:
            return early, 0
        if fault and fault.kind == "perm_rev_change":
            tenant.perm_rev += 1
        if fault and fault.kind in ("duplicate_rows", "missing_rows"):
            shift = int(fault.params.get("rows", 1)) * (-1 if fault.kind == "duplicate_rows" else 1)
            params = {**params, "offset": str(max(0, int(params.get("offset", 0) or 0) + shift))}
        paging = self.world.paging_of(tenant)
        page = self.engine.page(tenant, endpoint, params, within, cap=paging.cap_for(endpoint))
        rows, total = page.rows, page.total
        if _is(fault, "empty"):
            rows, total = [], 0
        if fault and fault.kind == "count_mismatch":
            total += int(fault.params.get("delta", 5))
        headers = page_headers(
            paging,
            url=request.host_url.rstrip("/") + _raw_path(request),
            params=params,
            offset=page.offset,
            limit=page.limit,
            rows=len(rows),
            total=total,
            perm_rev=tenant.perm_rev,
        )
        return _body({page.envelope: rows}, fault, headers), len(rows)

    def _early_fault(self, fault: Fault | None) -> Response | None:
        """Faults that act before the data is read: an error status, a drop, a delay."""
        if fault is None:
            return None
        if fault.kind.startswith("http_"):
            return self._fault_status(fault)
        if fault.kind == "drop":
            raise _Dropped
        if fault.kind == "slow":
            self._wait_unlocked(float(fault.params.get("delay_seconds", 2)))
        return None

    def _wait_unlocked(self, seconds: float) -> None:
        """Let other requests through while this one waits, as a slow server would."""
        if seconds <= 0:
            return
        self.world.lock.release()
        try:
            time.sleep(seconds)
        finally:
            self.world.lock.acquire()

    def _fault_status(self, fault: Fault) -> Response:
        status = int(fault.kind.split("_")[1])
        headers = {}
        if status == 429 and "retry_after" in fault.params:
            headers["Retry-After"] = str(fault.params["retry_after"])
        minor = "server_busy" if status in (429, 503) else "internal_server_error"
        return _json(OneRosterError(status, minor, f"injected {status}").body(), status, headers)

    # ------------------------------------------------------------------ LaunchPad + OAuth2
    def _launchpad(self, request: Request, path: str) -> Response:
        assert self.oidc is not None
        base = f"{self.base_url}/launchpad"
        if path == "/.well-known/openid-configuration":
            return _json(self.oidc.discovery())
        if path == "/oauth2/v2/jwks":
            return _json(self.oidc.jwks())
        if path == "/oauth2/v2/token" and request.method == "POST":
            basic = (
                (request.authorization.username or "", request.authorization.password or "")
                if request.authorization and request.authorization.type == "basic"
                else None
            )
            try:
                return _json(
                    self.oidc.exchange(request.form.to_dict(), basic), headers={"Cache-Control": "no-store"}
                )
            except OAuthError as exc:
                return _json({"error": exc.error, "error_description": exc.description}, exc.status)
        if path == "/oauth2/v2/auth":
            return self._authorize(request)
        if path == "/" and request.method == "GET":
            return _html(launchpad.districts_page(self.world, base))
        query = request.args.get("q", "")
        if path in ("/login", "/admin") and request.method == "GET":
            tenant = self._tenant_arg(request.args.get("tenant"))
            render = launchpad.login_page if path == "/login" else launchpad.admin_page
            return _html(render(tenant, base, query))
        if path in ("/session", "/impersonate") and request.method == "POST":
            tenant = self._tenant_arg(request.form.get("tenant"))
            sourced_id = request.form.get("sourced_id", "")
            if sourced_id not in tenant.users():
                return _html(launchpad.page("Unknown user", "<p>No such user.</p>"), 404)
            session_id = secrets.token_urlsafe(24)
            self.sessions[session_id] = LaunchPadSession(
                tenant.tenant_id, sourced_id, "Tenant Administrator" if path == "/impersonate" else None
            )
            response = Response(status=303, headers={"Location": f"{base}/home"})
            response.set_cookie("clsession", session_id, httponly=True, samesite="Lax", path="/launchpad")
            return response
        session = self.sessions.get(request.cookies.get("clsession", ""))
        if path == "/home" and session:
            tenant = self.world.tenants[session.tenant_id]
            return _html(
                launchpad.home_page(tenant, tenant.users()[session.sourced_id], base, session.impersonated_by)
            )
        if path == "/tile" and request.method == "POST" and session:
            return self._tile_launch(session)
        if path in ("/home", "/tile"):
            return Response(status=303, headers={"Location": f"{base}/"})
        return _json({"error": "not_found"}, 404)

    def _tile_launch(self, session: LaunchPadSession) -> Response:
        """A8: straight to the registered redirect URI with a code, no state, no PKCE."""
        assert self.oidc is not None
        client = next(iter(self.world.clients.values()), None)
        if client is None or not client.redirect_uris:
            what = (
                "No OAuth2 app is registered."
                if client is None
                else f"The OAuth2 app (client_id {escape(client.client_id)}) has no redirect URI registered, "
                "so LaunchPad has nowhere to send the code."
            )
            return _html(launchpad.page("App not configured", f"<p>{what}</p>{REDIRECT_URI_HINT}"), 400)
        tenant = self.world.tenants[session.tenant_id]
        redirect_uri = client.redirect_uris[0]
        grant = self.oidc.new_grant(
            client.client_id,
            redirect_uri,
            tenant,
            session.sourced_id,
            scope="openid profile email",
            impersonated_by=session.impersonated_by,
        )
        code = self.oidc.issue_code(grant)
        return Response(
            status=302,
            headers={"Location": f"{redirect_uri}?{urlencode({'code': code, 'response_type': 'code'})}"},
        )

    def _authorize(self, request: Request) -> Response:
        assert self.oidc is not None
        params = request.args.to_dict() if request.method == "GET" else request.form.to_dict()
        client = self.world.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        # Never redirect to an unregistered URI: show the error instead (RFC 6749 4.1.2.1).
        if client is None:
            return _html(
                launchpad.page(
                    "Invalid request",
                    f"<p>Unknown client_id {escape(params.get('client_id', ''))!r}: use the client_id "
                    "the sandbox printed in its ready line (<code>oauth_client</code>).</p>",
                ),
                400,
            )
        if redirect_uri not in client.redirect_uris:
            registered = ", ".join(escape(u) for u in client.redirect_uris) or "none"
            return _html(
                launchpad.page(
                    "Invalid request",
                    f"<p>The redirect_uri {escape(redirect_uri)!r} is not registered for client_id "
                    f"{escape(client.client_id)} (registered: {registered}).</p>{REDIRECT_URI_HINT}",
                ),
                400,
            )
        state = params.get("state")
        if params.get("response_type") != "code":
            return _redirect_with(redirect_uri, {"error": "unsupported_response_type"}, state)
        session = self.sessions.get(request.cookies.get("clsession", ""))
        if request.method == "GET" and session is not None:
            # Signed in to LaunchPad already (or impersonating): ClassLink answers at once, with
            # no prompt, which is what makes a state-bound login after a tile click seamless.
            grant = self.oidc.new_grant(
                client.client_id,
                redirect_uri,
                self.world.tenants[session.tenant_id],
                session.sourced_id,
                scope=params.get("scope", "profile"),
                nonce=params.get("nonce"),
                code_challenge=params.get("code_challenge"),
                code_challenge_method=params.get("code_challenge_method"),
                impersonated_by=session.impersonated_by,
            )
            return _redirect_with(
                redirect_uri, {"code": self.oidc.issue_code(grant), "response_type": "code"}, state
            )
        if request.method == "GET":
            options = "".join(
                f"<option value='{t.tenant_id}:{escape(u['sourcedId'], quote=True)}'>"
                f"{escape(t.name)}: {escape(u['givenName'])} {escape(u['familyName'])} "
                f"({escape(u['role'])})</option>"
                for t in self.world.tenants.values()
                for u in [v for v in t.users().values() if v["role"] != "guardian"][:50]
            )
            hidden = "".join(
                f"<input type=hidden name='{escape(k, quote=True)}' value='{escape(v, quote=True)}'>"
                for k, v in params.items()
            )
            return _html(launchpad.authorize_page(options, hidden, client.name))
        if params.get("decision") != "allow":
            return _redirect_with(redirect_uri, {"error": "access_denied"}, state)
        tenant_part, _, sourced_id = params.get("who", "").partition(":")
        tenant = self._tenant_arg(tenant_part)
        if sourced_id not in tenant.users():
            return _html(launchpad.page("Unknown user", "<p>No such user.</p>"), 400)
        grant = self.oidc.new_grant(
            client.client_id,
            redirect_uri,
            tenant,
            sourced_id,
            scope=params.get("scope", "profile"),
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
        )
        # A2: the redirect carries code, response_type and (when sent) state.
        return _redirect_with(
            redirect_uri, {"code": self.oidc.issue_code(grant), "response_type": "code"}, state
        )

    def _tenant_arg(self, value: str | None) -> Tenant:
        try:
            return self.world.tenants[int(value or "")]
        except (ValueError, KeyError):
            raise OneRosterError(404, "unknownobject", "unknown tenant") from None

    # ------------------------------------------------------------------ nodeapi
    def _nodeapi(self, request: Request, path: str) -> Response:
        assert self.oidc is not None
        try:
            grant = self.oidc.grant_for_token(request.headers.get("Authorization", ""))
        except OAuthError as exc:
            return _json({"error": exc.error, "error_description": exc.description}, exc.status)
        info = self.oidc.my_info(grant)
        if path == "/v2/my/info":
            return _json(info)
        if path == "/v2/my/profileinfo":
            return _json(
                {
                    "sub": str(info["UserId"]),
                    "given_name": info["FirstName"],
                    "family_name": info["LastName"],
                    "email": info["Email"],
                }
            )
        return _json({"error": "not_found"}, 404)

    # ------------------------------------------------------------------ admin
    def _admin(self, request: Request, path: str) -> Response:
        if request.headers.get("X-Sandbox-Admin") != self.world.admin_token:
            return _json({"error": "admin token required"}, 403)
        body = request.get_json(silent=True) or {}
        # Each handler answers the routes it owns (their paths do not overlap), else None.
        handlers = (
            self._admin_faults,
            self._admin_tenants,
            self._admin_oidc,
            self._admin_serving,
            self._admin_marks,
        )
        for handler in handlers:
            response = handler(request.method, path, body)
            if response is not None:
                return response
        return _json({"error": "not_found"}, 404)

    def _admin_serving(self, method: str, path: str, body: Any) -> Response | None:
        answer = serving_route(self.world, method, path, body)
        return None if answer is None else _json(answer[1], answer[0])

    def _admin_marks(self, method: str, path: str, body: Any) -> Response | None:
        answer = self.marks.route(self.world, self.engine, method, path, body)
        return None if answer is None else _json(answer[1], answer[0])

    def _admin_faults(self, method: str, path: str, body: Any) -> Response | None:
        if path != "/faults":
            return None
        if method == "POST":
            try:
                fault = self.faults.add(Fault(**body))
            except (TypeError, ValueError) as exc:
                return _json({"error": str(exc)}, 400)
            return _json(fault.__dict__, 201)
        if method == "DELETE":
            self.faults.clear()
            return _json({"cleared": True})
        if method == "GET":
            return _json(self.faults.describe())
        return None

    def _admin_tenants(self, method: str, path: str, body: Any) -> Response | None:
        if path == "/tenants" and method == "POST":
            return self._admin_add_tenant(body)
        if path == "/tenants" and method == "GET":
            tenants = sorted(self.world.tenants.values(), key=lambda t: t.tenant_id)
            return _json({"tenants": [tenant_summary(t, self.base_url) for t in tenants]})
        if path.startswith("/tenants/") and path.count("/") == 2 and method == "GET":
            return _json(tenant_summary(self._tenant_arg(path.split("/")[2]), self.base_url))
        if (
            path.startswith("/tenants/")
            and path.endswith("/changes")
            and path.count("/") == 3
            and method == "POST"
        ):
            tenant = self._tenant_arg(path.split("/")[2])
            try:
                result = apply_change(tenant, body)
            except (KeyError, ValueError) as exc:
                return _json({"error": str(exc)}, 400)
            return _json(result)
        return None

    def _admin_add_tenant(self, body: Any) -> Response:
        unknown = sorted(set(body) - DISTRICT_SPEC_FIELDS) if isinstance(body, dict) else []
        if not isinstance(body, dict) or unknown:
            return _json(
                {"error": f"not DistrictSpec fields: {unknown}", "fields": sorted(DISTRICT_SPEC_FIELDS)},
                400,
            )
        try:
            tenant = self.add_district(DistrictSpec(**body))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(tenant_summary(tenant, self.base_url), 201)

    def _admin_oidc(self, method: str, path: str, body: Any) -> Response | None:
        """Key rotation, PKCE and id_token claim modes of the LaunchPad OIDC provider."""
        if method != "POST" or path not in ("/keys/rotate", "/pkce", "/id-token-claims"):
            return None
        assert self.oidc is not None
        if path == "/keys/rotate":
            return _json({"kid": self.oidc.rotate_keys(bool(body.get("retire_old")))})
        if path == "/pkce":
            self.oidc.pkce_mode = str(body.get("mode", "optional"))
            return _json({"mode": self.oidc.pkce_mode})
        mode = str(body.get("mode", "classlink"))
        if mode not in ("classlink", "standard"):
            return _json({"error": 'mode must be "classlink" or "standard"'}, 400)
        self.oidc.claims_mode = mode
        return _json({"mode": mode})


class _Dropped(Exception):
    """Signals that the connection must close without an answer."""


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _raw_path(request: Request) -> str:
    """The path as the client sent it: it keeps %2F in proxy application ids, which ClassLink
    expects verbatim."""
    environ = request.environ
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    return urlsplit(raw_uri).path


def _is(fault: Fault | None, kind: str) -> bool:
    return fault is not None and fault.kind == kind


def _body(payload: dict[str, Any], fault: Fault | None, headers: dict[str, str]) -> Response:
    """A 200 JSON answer, bent by the faults that act on the body."""
    if _is(fault, "no_envelope"):
        payload = {"status": "success"}
    body = json.dumps(payload, separators=(",", ":"))
    if _is(fault, "truncated_json"):
        body = body[: max(1, len(body) // 2)]
    return Response(body, 200, headers=headers, content_type="application/json")


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status, content_type="text/html; charset=utf-8")


def _redirect_with(redirect_uri: str, params: dict[str, str], state: str | None) -> Response:
    if state:
        params = {**params, "state": state}
    separator = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(params)}"})


def tenant_summary(tenant: Tenant, base_url: str) -> dict[str, Any]:
    """What a client needs to reach a tenant. `users` is how many users GET /users shares (only
    enrolled ones unless Unenrolled Users is on, C1); `users_in_sis` counts every user record the
    district holds, guardians and unenrolled staff included. `bearer` is None (null) for an
    OAuth1-only tenant, whose proxy_base_url answers 401."""
    return {
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "enabled": tenant.enabled,
        "listed": tenant.listed,
        "oauth1_only": tenant.oauth1_only,
        "share_unenrolled": tenant.share_unenrolled,
        "bearer": tenant.proxy_bearer(),
        "oneroster_application_id": tenant.oneroster_application_id,
        "proxy_base_url": f"{base_url}/partner/{tenant.oneroster_application_id}/ims/oneroster/v1p1",
        "endpoint_url": f"{base_url}/tenants/{tenant.slug}",
        "oauth1_key": tenant.oauth1_key,
        "oauth1_secret": tenant.oauth1_secret,
        "users": tenant.shared_user_count(),
        "users_in_sis": len(tenant.users()),
    }
