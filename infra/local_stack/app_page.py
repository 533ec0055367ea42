"""A stand-in for the SmartPass app, served on an origin of its own (another port on the same
host: another origin, the same site, as the app and the API are on two subdomains in AWS). It
does what the real app does with a login code: `POST {API}/sso/session` with
`credentials: "include"`, so the browser sends the cookie that binds the code to it, and shows
who is signed in. Not part of the backend: in AWS the app lives at SmartPassAppUrl."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from local_stack.http_server import LoopbackServer
from smartpass_aws.http_headers import html_headers

APP_PATH = "/app"
PAGE = """<!doctype html><html lang=en><head><meta charset=utf-8><title>SmartPass (local stand-in)</title>
<style>body{font-family:system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem}</style>
</head><body><h1>SmartPass</h1><p id=who>Signing you in...</p><pre id=claims></pre>
<script>
const API = __API__;
const code = new URLSearchParams(location.search).get("login_code");
const who = document.getElementById("who");
if (!code) { who.textContent = "Not signed in: open SmartPass from ClassLink LaunchPad."; }
else fetch(API + "/sso/session", {method: "POST", credentials: "include",
  headers: {"Content-Type": "application/json", "Accept": "application/json"},
  body: JSON.stringify({login_code: code})})
  .then(r => r.json()).then(body => {
    if (!body.session_token) { who.textContent = "Sign-in failed: " + (body.title || body.error); return; }
    history.replaceState(null, "", location.pathname);  // the code is spent: drop it from the URL
    let part = body.session_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (part.length % 4) part += "=";
    const claims = JSON.parse(atob(part));
    who.textContent = `Signed in as ${claims.sourced_id} (${claims.role}) of district ${claims.tenant_id}`;
    who.dataset.sourcedId = claims.sourced_id; who.dataset.role = claims.role;
    document.getElementById("claims").textContent = JSON.stringify(claims, null, 2);
  }).catch(() => { who.textContent = "Sign-in failed: SmartPass could not be reached."; });
</script></body></html>
"""


def app_page(api_url: str) -> str:
    return PAGE.replace("__API__", json.dumps(api_url))


class AppServer:
    """Serves the stand-in app page at /app on a port of its own."""

    def __init__(self, api_url: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.page = app_page(api_url)
        self.headers = html_headers(self.page, connect_src=api_url)  # as the real app's host should
        self._http = LoopbackServer(self._wsgi, "app-page", host, port)
        self.origin = self._http.origin
        self.url = f"{self.origin}{APP_PATH}"

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = Request(environ).path
        if path == APP_PATH or path.startswith(APP_PATH + "/"):
            response = Response(self.page, 200, content_type="text/html; charset=utf-8")
            response.headers.update(self.headers)
        else:
            response = Response("Not Found", 404, content_type="text/plain")
        return response(environ, start_response)
