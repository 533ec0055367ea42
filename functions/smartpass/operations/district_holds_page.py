"""The district holds page, as a district administrator sees it: sign in with ClassLink; the
district's held sync runs, why each was held and what it would deactivate (counts only, no
person's record); approve or reject; the outcome. Same frame and stylesheet as the district
status page; its policy allows a form posted back to this page and nothing else."""

from __future__ import annotations

from urllib.parse import urlencode

from smartpass.operations.district_holds import DecisionMade, HeldRunView, HoldsView, SignedInAdmin
from smartpass.operations.page_layout import PAGE_HEADERS, esc, number, page, when
from smartpass.sso import pages
from smartpass.sso.district_admin import DESTINATION, PATH

# PAGE_HEADERS, but the decision forms may post to this same origin (and nowhere else).
HOLDS_PAGE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "form-action 'none'", "form-action 'self'"
    ),
}
TITLE = "Held roster syncs"
COLLECTION_WORDS = {
    "users": "people",
    "orgs": "schools",
    "classes": "classes",
    "enrollments": "enrollments",
    "terms": "terms",
}
# This page's own refusals (the sign-in's are in sso/pages.py).
OWN_REFUSALS = {
    "forged_form": pages.Page(
        403,
        "This decision was not sent from your district's page",
        "SmartPass only accepts a decision sent from the held syncs page it showed you.",
        "Open the held syncs page again and decide there.",
    ),
    "unknown_decision": pages.Page(
        400, "This decision is incomplete", "It named no held sync or no decision.", "Open the page again."
    ),
}


def sign_in_url() -> str:
    """Our own launch (the SSO function's route, on this same origin), ending on this page."""
    return f"/sso/classlink/launch?{urlencode({'destination': DESTINATION})}"


def render_sign_in(expired: bool) -> str:
    text = (
        "Your sign-in has expired (it lasts 15 minutes). "
        if expired
        else "District administrators review their district's held roster syncs here. "
    ) + "Sign in with ClassLink as a district administrator of your district to continue."
    return page(
        TITLE,
        "SmartPass roster sync",
        f'<section id="sign-in"><p>{esc(text)}</p>'
        f'<p><a id="sign-in-with-classlink" class="button" href="{esc(sign_in_url())}">'
        "Sign in with ClassLink</a></p></section>",
    )


def render_refused(reason: str, reference: str) -> tuple[int, str]:
    refusal = OWN_REFUSALS.get(reason) or pages.refusal_page(reason)
    body = (
        f'<section id="refused" data-reason="{esc(reason)}"><p>{esc(refusal.body)}</p>'
        f"<p><strong>What to do:</strong> {esc(refusal.action)}</p>"
        f'<p class="muted">Reference: {esc(reference)}</p></section>'
    )
    return refusal.status, page(refusal.title, "SmartPass roster sync", body)


def _who(admin: SignedInAdmin) -> str:
    return f"Signed in as {admin.name or admin.sourced_id}, district administrator of {admin.district_name}"


def render_holds(view: HoldsView) -> str:
    admin = view.admin
    if not view.held:
        body = (
            '<section id="held"><h2>Nothing to review</h2><p class="empty">'
            "No roster sync of your district is waiting for a decision.</p></section>"
        )
        return page(f"{admin.district_name}: {TITLE}", _who(admin), body)
    body = "".join(_held(held, admin) for held in view.held)
    return page(f"{admin.district_name}: {TITLE}", _who(admin), body)


def _held(held: HeldRunView, admin: SignedInAdmin) -> str:
    run, review = held.run, held.review
    counts = ""
    if review is not None:
        rows = "".join(
            f"<tr><td>{esc(COLLECTION_WORDS.get(collection, collection))}</td><td>{esc(reason)}</td>"
            f'<td class="n">{number(count)}</td></tr>'
            for collection, reasons in sorted(review.by_collection.items())
            for reason, count in sorted(reasons.items())
        )
        counts = (
            f"<p>Approving deactivates {number(review.total)} record(s) still as they were when the sync "
            "was held; rejecting deactivates nothing (the next nightly sync decides afresh).</p>"
            f"<table><tr><th>What</th><th>Why</th><th>How many</th></tr>{rows}</table>"
        )
    reasons = "".join(f'<div class="finding"><p>{esc(r)}</p></div>' for r in run.reasons)
    forms = "".join(
        _form(run.run_id, decision, label, admin.session.session_id)
        for decision, label in (
            ("approve", "Approve: deactivate them"),
            ("reject", "Reject: deactivate nothing"),
        )
    )
    return (
        f'<section class="held-run" data-run-id="{esc(run.run_id)}"><h2>Sync of {when(run.finished_at)}'
        f"</h2><p>Held because:</p>{reasons}{counts}{forms}</section>"
    )


def _form(run_id: str, decision: str, label: str, form_token: str) -> str:
    """A decision posted back to this page, with the session's form token."""
    return (
        f'<form method="post" action="{esc(PATH)}" class="decision">'
        f'<input type="hidden" name="run_id" value="{esc(run_id)}">'
        f'<input type="hidden" name="decision" value="{esc(decision)}">'
        f'<input type="hidden" name="form_token" value="{esc(form_token)}">'
        f'<button type="submit" id="{esc(decision)}-{esc(_slug(run_id))}" class="{esc(decision)}">'
        f"{esc(label)}</button></form>"
    )


def _slug(run_id: str) -> str:
    return "".join(c for c in run_id if c.isalnum())[-12:]


def render_decision(made: DecisionMade) -> str:
    more = ""
    if made.decision == "approve" and made.remaining:
        text = (
            f"Approved in part: {number(made.applied)} record(s) deactivated so far, about "
            f"{number(made.remaining)} to go (a page can only work for half a minute at a time)."
        )
        more = _form(made.run_id, "approve", "Continue approving", made.admin.session.session_id)
    elif made.decision == "approve":
        text = (
            f"Approved. {number(made.applied)} record(s) deactivated; {number(made.no_longer_applicable)} "
            "had changed or come back since the hold and were left as they are."
        )
    else:
        text = "Rejected. Nothing was deactivated; the next nightly sync decides afresh."
    body = (
        f'<section id="decided" data-decision="{esc(made.decision)}" data-remaining="{made.remaining}">'
        f"<p>{esc(text)}</p>{more}"
        f'<p class="muted">Recorded in your district\'s history as decided by '
        f"{esc(made.admin.decider.name)}.</p>"
        f'<p><a href="{esc(PATH)}">Back to held syncs</a></p></section>'
    )
    return page(f"{made.admin.district_name}: {TITLE}", _who(made.admin), body)


def render_not_decided(message: str) -> str:
    """A decision the hold's rules refused (decided already, stale, a sync running): why."""
    body = (
        f'<section id="not-decided"><p class="notice">Nothing was changed: {esc(message)}.</p>'
        f'<p><a href="{esc(PATH)}">Back to held syncs</a></p></section>'
    )
    return page(TITLE, "SmartPass roster sync", body)
