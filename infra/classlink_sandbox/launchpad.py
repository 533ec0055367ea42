"""LaunchPad pages: sign in as a user (or impersonate one as an admin) and click the SmartPass tile.

classlink-facts A8: the best evidence is that the tile sends the browser to the app's registered
redirect URI with `?code=...` and no `state` and no PKCE. A9: nothing marks an impersonated
launch, so the code and tokens it yields look exactly like the real user's.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from classlink_sandbox.world import Record, Tenant, World

STYLE = (
    "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:52rem}"
    ".tile{display:inline-block;padding:1.2rem 1.6rem;margin:.5rem;border-radius:.6rem;"
    "background:#0b6bcb;color:#fff;border:0;font-size:1.1rem;cursor:pointer}"
    ".banner{background:#fde68a;padding:.5rem 1rem;border-radius:.4rem}"
    "td,th{padding:.2rem .6rem;text-align:left}</style>"
)
USERS_SHOWN = 200


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>{STYLE}"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def districts_page(world: World, base: str) -> str:
    items = "".join(
        f"<li><a href='{base}/login?{urlencode({'tenant': t.tenant_id})}'>{escape(t.name)}</a> "
        f"(tenant {t.tenant_id}) &middot; <a href='{base}/admin?{urlencode({'tenant': t.tenant_id})}'>"
        f"admin console</a></li>"
        for t in sorted(world.tenants.values(), key=lambda t: t.tenant_id)
    )
    return page("ClassLink LaunchPad (sandbox)", f"<p>Find your district:</p><ul>{items}</ul>")


def _user_rows(tenant: Tenant, query: str, action: str, label: str) -> str:
    q = query.lower()
    users = [
        u
        for u in tenant.users().values()
        if u["role"] != "guardian" and (not q or q in u["username"].lower() or q in u["sourcedId"].lower())
    ][:USERS_SHOWN]
    rows = "".join(
        f"<tr><td>{escape(u['givenName'])} {escape(u['familyName'])}</td><td>{escape(u['role'])}</td>"
        f"<td>{escape(u['sourcedId'])}</td><td><form method=post action='{action}'>"
        f"<input type=hidden name=tenant value='{tenant.tenant_id}'>"
        f"<input type=hidden name=sourced_id value='{escape(u['sourcedId'], quote=True)}'>"
        f"<button type=submit data-user='{escape(u['sourcedId'], quote=True)}'>{label}</button>"
        "</form></td></tr>"
        for u in users
    )
    return (
        f"<form method=get><input type=hidden name=tenant value='{tenant.tenant_id}'>"
        f"<input name=q value='{escape(query, quote=True)}' placeholder='username or sourcedId'>"
        f"<button type=submit>Search</button></form>"
        f"<table><tr><th>Name</th><th>Role</th><th>sourcedId</th><th></th></tr>{rows}</table>"
    )


def login_page(tenant: Tenant, base: str, query: str) -> str:
    return page(
        f"Sign in to {tenant.name}",
        "<p>Pick who you are (the sandbox skips passwords):</p>"
        + _user_rows(tenant, query, f"{base}/session", "Sign in"),
    )


def admin_page(tenant: Tenant, base: str, query: str) -> str:
    return page(
        f"{tenant.name}: Management Console",
        "<p>Groups &amp; Users &rarr; Users. "
        "Impersonate a user to see their LaunchPad:</p>"
        + _user_rows(tenant, query, f"{base}/impersonate", "Impersonate user"),
    )


def home_page(tenant: Tenant, user: Record, base: str, impersonated_by: str | None) -> str:
    banner = (
        (
            f"<p class=banner>You are impersonating {escape(user['givenName'])} {escape(user['familyName'])} "
            f"as {escape(impersonated_by)}.</p>"
        )
        if impersonated_by
        else ""
    )
    return page(
        f"LaunchPad: {user['givenName']} {user['familyName']}",
        f"{banner}<p>{escape(tenant.name)}</p><form method=post action='{base}/tile'>"
        "<button class=tile id=smartpass-tile type=submit>SmartPass</button></form>"
        f"<p><a href='{base}/'>Sign out</a></p>",
    )


def authorize_page(tenant_options: str, hidden: str, client_name: str) -> str:
    return page(
        f"Sign in to continue to {client_name}",
        f"<form method=post>{hidden}<label>District and user "
        f"<select name=who>{tenant_options}</select></label>"
        "<p><button type=submit name=decision value=allow id=allow>Allow</button> "
        "<button type=submit name=decision value=deny id=deny>Deny</button></p></form>",
    )
