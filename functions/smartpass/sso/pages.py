"""Plain pages a student, teacher or district admin sees when sign-in cannot go on.

Each says what happened and what to do, in words for a person, with a reference an operator can
find in the logs. No stack traces, tokens or roster data.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    body: str
    action: str


def render(page: Page, reference: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(page.title)} - SmartPass</title>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<style>body{font-family:system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem;"
        "color:#1f2933}h1{font-size:1.4rem}.ref{color:#6b7280;font-size:.85rem}</style></head><body>"
        f"<h1>{escape(page.title)}</h1><p>{escape(page.body)}</p><p><strong>What to do:</strong> "
        f"{escape(page.action)}</p><p class=ref>Reference: {escape(reference)}</p></body></html>"
    )


ACCESS_DENIED = Page(
    403,
    "Sign-in was cancelled",
    "ClassLink reported that access to SmartPass was not allowed for this sign-in.",
    "Open SmartPass again from your ClassLink LaunchPad. If this keeps happening, ask your "
    "district's ClassLink administrator to check that the SmartPass app is enabled for you.",
)
MISSING_CODE = Page(
    400,
    "This sign-in link is incomplete",
    "SmartPass was opened without the sign-in information ClassLink normally sends.",
    "Go back to ClassLink LaunchPad and click the SmartPass tile again.",
)
BAD_RETURN_PATH = Page(
    400,
    "This sign-in link is not valid",
    "The link asked to continue to a page outside SmartPass.",
    "Open SmartPass from ClassLink LaunchPad or from the SmartPass home page.",
)
ADMIN = "your district's ClassLink administrator"
REFUSALS: dict[str, Page] = {
    "missing_state": MISSING_CODE,
    "unknown_state": Page(
        400,
        "This sign-in has expired or was already used",
        "SmartPass did not start this sign-in, or it was already finished or is more than 10 minutes old.",
        "Open SmartPass again from ClassLink LaunchPad.",
    ),
    "code_rejected": Page(
        400,
        "This sign-in was already used",
        "ClassLink did not accept this sign-in again: each one works once and for a few minutes.",
        "Open SmartPass again from ClassLink LaunchPad.",
    ),
    "id_token_invalid": Page(
        400,
        "This sign-in could not be verified",
        "The sign-in did not carry a valid ClassLink signature for SmartPass, so nobody was signed in.",
        "Open SmartPass again from ClassLink LaunchPad. If this keeps happening, tell your district's "
        "SmartPass contact and quote the reference below.",
    ),
    "id_token_unknown_kid_refresh_wait": Page(
        503,
        "ClassLink changed its keys a moment ago",
        "SmartPass could not check this sign-in yet: ClassLink has just started signing with a new key.",
        "Wait a minute and open SmartPass again from ClassLink LaunchPad. Nothing is wrong with your "
        "account.",
    ),
    "client_rejected": Page(
        503,
        "Sign-in with ClassLink is not working right now",
        "ClassLink did not accept SmartPass's own credentials. SmartPass's operators have been alerted.",
        "Try again later; nothing is wrong with your account.",
    ),
    "tenant_mismatch": Page(
        400,
        "This sign-in could not be verified",
        "ClassLink's answers about your district did not agree, so nobody was signed in.",
        "Open SmartPass again from ClassLink LaunchPad, and quote the reference below if it happens again.",
    ),
    "bad_code_challenge": Page(
        400,
        "This sign-in link is not valid",
        "The app that sent you here asked for sign-in in a way SmartPass does not accept.",
        "Open SmartPass again from ClassLink LaunchPad; if it keeps happening, tell SmartPass support.",
    ),
    "sourced_id_mismatch": Page(
        400,
        "This sign-in could not be verified",
        "ClassLink's answers about who you are did not agree, so nobody was signed in.",
        "Open SmartPass again from ClassLink LaunchPad, and quote the reference below if it happens again.",
    ),
    "identity_conflict": Page(
        403,
        "This account is linked to someone else",
        "Your SmartPass account was first used from a different ClassLink account.",
        f"Ask {ADMIN} to check your account in ClassLink, and quote the reference below.",
    ),
    "district_not_connected": Page(
        403,
        "Your district is not connected to SmartPass yet",
        "SmartPass has no roster from your district's ClassLink yet.",
        f"Ask {ADMIN} to add the SmartPass Roster Server app and share students and teachers with it; "
        "SmartPass connects within minutes.",
    ),
    "district_paused": Page(
        403,
        "Your district's SmartPass connection is paused",
        "Your district turned off or removed the SmartPass app in ClassLink Roster Server.",
        f"Ask {ADMIN} to enable the SmartPass app in ClassLink Roster Server again.",
    ),
    "district_not_synced": Page(
        403,
        "SmartPass is still setting up your district",
        "Your district's roster has not finished its first sync.",
        "Try again in a few minutes.",
    ),
    "user_not_shared": Page(
        403,
        "Your account is not shared with SmartPass",
        "Your district's ClassLink does not share your account with SmartPass.",
        f"Ask {ADMIN} to check the SmartPass app's sharing rules in Roster Server, or to turn on "
        "Unenrolled Users if you teach no class.",
    ),
    "user_deactivated": Page(
        403,
        "Your SmartPass account is not active",
        "Your district's roster no longer lists you as active.",
        f"If you should have access, ask {ADMIN} to check your account in your SIS.",
    ),
    "user_disabled": Page(
        403,
        "Your account is disabled",
        "Your district's roster marks your account as disabled.",
        f"Ask {ADMIN} to enable your account.",
    ),
    "role_not_allowed": Page(
        403,
        "SmartPass is not available for your role",
        "Your district does not give your role access to SmartPass.",
        f"If you should have access, ask {ADMIN} to check SmartPass's role settings.",
    ),
    "not_district_administrator": Page(
        403,
        "Only your district's administrators can review held syncs",
        "You signed in with ClassLink, but your district's roster does not list you as a district "
        "administrator, so SmartPass cannot show you your district's held roster syncs.",
        f"Ask {ADMIN} or a district administrator to review it. Students and teachers can keep using "
        "SmartPass from ClassLink LaunchPad as usual.",
    ),
    "classlink_unavailable": Page(
        503,
        "ClassLink is not answering",
        "SmartPass could not reach ClassLink to finish your sign-in.",
        "Wait a minute and open SmartPass again from ClassLink LaunchPad.",
    ),
    "not_configured": Page(
        503,
        "Sign-in with ClassLink is not set up on this server",
        "This SmartPass server has no ClassLink redirect address configured.",
        "Tell your district's SmartPass contact; operators set SsoRedirectUri.",
    ),
    "invalid_login_code": Page(
        400,
        "This sign-in link was already used",
        "A SmartPass sign-in link works once and for a minute.",
        "Open SmartPass again from ClassLink LaunchPad.",
    ),
    "internal_error": Page(
        500,
        "Something went wrong on our side",
        "SmartPass could not finish your sign-in because of an error on our side.",
        "Open SmartPass again from ClassLink LaunchPad. If it keeps happening, tell your district's "
        "SmartPass contact and quote the reference below.",
    ),
    "access_denied": ACCESS_DENIED,
    "missing_code": MISSING_CODE,
    "bad_return_path": BAD_RETURN_PATH,
}


def refusal_page(reason: str) -> Page:
    if reason.startswith("id_token_") and reason not in REFUSALS:
        return REFUSALS["id_token_invalid"]
    return REFUSALS.get(reason, REFUSALS["id_token_invalid"])
