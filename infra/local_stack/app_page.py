"""A stand-in for the SmartPass app, served by the local stack at /app: it does what the real
app does with a login code (POST /sso/session) and shows who is signed in. Not part of the
backend: in AWS the app lives at SmartPassAppUrl."""

APP_PAGE = """<!doctype html><html lang=en><head><meta charset=utf-8><title>SmartPass (local stand-in)</title>
<style>body{font-family:system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem}</style>
</head><body><h1>SmartPass</h1><p id=who>Signing you in...</p><pre id=claims></pre>
<script>
const code = new URLSearchParams(location.search).get("login_code");
const who = document.getElementById("who");
if (!code) { who.textContent = "Not signed in: open SmartPass from ClassLink LaunchPad."; }
else fetch("/sso/session", {method: "POST", headers: {"Content-Type": "application/json",
  "Accept": "application/json"}, body: JSON.stringify({login_code: code})})
  .then(r => r.json()).then(body => {
    if (!body.session_token) { who.textContent = "Sign-in failed: " + (body.title || body.error); return; }
    history.replaceState(null, "", location.pathname);  // the code is spent: drop it from the URL
    let part = body.session_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    while (part.length % 4) part += "=";
    const claims = JSON.parse(atob(part));
    who.textContent = `Signed in as ${claims.sourced_id} (${claims.role}) of district ${claims.tenant_id}`;
    who.dataset.sourcedId = claims.sourced_id; who.dataset.role = claims.role;
    document.getElementById("claims").textContent = JSON.stringify(claims, null, 2);
  });
</script></body></html>
"""
