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
NOT_READY = Page(
    501,
    "Sign-in with ClassLink is not switched on yet",
    "SmartPass received your ClassLink sign-in, but finishing it is not available on this server yet.",
    "Please sign in another way for now, and tell your district's SmartPass contact.",
)
