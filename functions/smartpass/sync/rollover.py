"""The August night: a school-year rollover is a known event, not a mass removal.

A new school year replaces nearly every class, enrollment and term. Weighed like any other night,
every district would be held for approval the same night. Here, deactivations of terms, classes
and enrollments that belong to terms that are *over* do not count toward the hold; users always
count (the graduating class leaving is people going, which is what the hold is there for).

A term is over when
- it ended before the run's day (its `endDate`), or
- it belongs to an earlier school year than the one in session. The school year in session is
  the newest `schoolYear` academicSession that stays active *and has a class that stays active*:
  next year's terms loaded early (districts do that in spring) do not end this year while this
  year's classes are still in the feed; the new year's classes arriving is what ends it.
A term belongs to a school year when it is that year or has it as an ancestor (`parent`), or,
with no school year among its ancestors, when it lies within the year's dates. A class is over
when every one of its terms is (a class with no term, or with a term we do not hold, is not); an
enrollment is over when its class is.

This is judged only when one of the three collections would go over its limit: it reads every
term and class of the district, and the enrollments (sourcedId and class only), once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from smartpass.data.roster import RosterClass, RosterEnrollment, RosterTerm
from smartpass.data.roster_store import RosterReader

ROLLOVER_COLLECTIONS = ("terms", "classes", "enrollments")
MAX_ANCESTORS = 8  # a parent chain longer than this (or a loop) is not followed further
NAMES_SHOWN = 5


@dataclass(frozen=True)
class Term:
    sourced_id: str
    title: str
    school_year: bool  # type schoolYear
    start: date | None
    end: date | None
    parent: str | None
    staying: bool  # active, and not about to be deactivated by this run


@dataclass
class Rollover:
    """How many of each collection's pending deactivations belong to terms that are over."""

    exempt: dict[str, int] = field(default_factory=dict)
    over_terms: list[str] = field(default_factory=list)  # titles of the terms they belong to

    @property
    def finding(self) -> str | None:
        """The reason, as the run shows it; None when nothing was set aside."""
        parts = [
            _counted(self.exempt[n], n) for n in ("classes", "enrollments", "terms") if self.exempt.get(n)
        ]
        if not parts:
            return None
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
        verb = "belongs" if len(parts) == 1 and parts[0].startswith("1 ") else "belong"
        names = ", ".join(self.over_terms[:NAMES_SHOWN])
        if len(self.over_terms) > NAMES_SHOWN:
            names += f" and {len(self.over_terms) - NAMES_SHOWN} more"
        return (
            f"School-year rollover: {listed} to deactivate {verb} to terms that are over"
            + (f" ({names})" if names else "")
            + "; they do not count toward the safety hold"
        )


SINGULAR = {"classes": "class", "enrollments": "enrollment", "terms": "term"}


def _counted(count: int, collection: str) -> str:
    return f"{count:,} {collection if count != 1 else SINGULAR[collection]}"


def _day(value: str | None) -> date | None:
    """A OneRoster date (YYYY-MM-DD, sometimes with a time); None when it is not one."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _ancestors(term: Term, terms: Mapping[str, Term]) -> list[Term]:
    """The term, then its parent, and so on (known terms only, no loops)."""
    chain, seen = [term], {term.sourced_id}
    while len(chain) <= MAX_ANCESTORS and chain[-1].parent in terms and chain[-1].parent not in seen:
        parent = terms[str(chain[-1].parent)]
        chain.append(parent)
        seen.add(parent.sourced_id)
    return chain


def school_year_of(term: Term, terms: Mapping[str, Term]) -> str | None:
    """The sourcedId of the school year the term belongs to, or None."""
    for ancestor in _ancestors(term, terms):
        if ancestor.school_year:
            return ancestor.sourced_id
    if term.start is None or term.end is None:
        return None
    containing = [
        year
        for year in terms.values()
        if year.school_year
        and year.start is not None
        and year.end is not None
        and year.start <= term.start
        and term.end <= year.end
    ]
    # Overlapping years (a district that ends one in August and starts the next in July): the later.
    return (
        max(containing, key=lambda y: (y.start or date.min, y.sourced_id)).sourced_id if containing else None
    )


def terms_over(terms: Mapping[str, Term], taught: Iterable[str], today: date) -> set[str]:
    """The sourcedIds of the terms that are over. `taught`: the terms of the classes that stay."""
    year_of = {sid: school_year_of(term, terms) for sid, term in terms.items()}
    in_session_years = {year_of[t] for t in taught if t in year_of} - {None}
    candidates = [terms[str(y)] for y in in_session_years if terms[str(y)].staying and terms[str(y)].start]
    in_session = max(candidates, key=lambda y: (y.start or date.min, y.sourced_id), default=None)
    earlier: set[str] = set()
    if in_session is not None and in_session.start is not None:
        began, ends = in_session.start, in_session.end
        # A year is earlier if it began before the one in session and ends before it does: a
        # district with a school year per school (the high school's starts a week before the
        # middle school's, both end in June) has several years in session at once.
        earlier = {
            sid
            for sid, t in terms.items()
            if t.school_year
            and t.start is not None
            and t.start < began
            and (ends is None or (t.end is not None and t.end < ends))
        }
    return {
        sid
        for sid, term in terms.items()
        if (term.end is not None and term.end < today) or year_of[sid] in earlier
    }


def _read_terms(reader: RosterReader, tenant_id: str, leaving: Collection[str]) -> dict[str, Term]:
    fields = ["sourced_id", "active", "title", "session_type", "start_date", "end_date", "parent_sourced_id"]
    return {
        r.sourced_id: Term(
            sourced_id=r.sourced_id,
            title=str(r.title or r.sourced_id),
            school_year=(r.session_type or "").lower() == "schoolyear",
            start=_day(r.start_date),
            end=_day(r.end_date),
            parent=r.parent_sourced_id or None,
            staying=bool(r.active) and r.sourced_id not in leaving,
        )
        for r in reader.records(RosterTerm, tenant_id, fields)
    }


def judge_rollover(
    reader: RosterReader,
    tenant_id: str,
    pending: Mapping[str, Collection[str]],
    today: date,
) -> Rollover:
    """How many pending deactivations of terms, classes and enrollments are of terms that are over."""
    leaving_terms, leaving_classes = pending.get("terms", ()), pending.get("classes", ())
    terms = _read_terms(reader, tenant_id, leaving_terms)
    class_terms: dict[str, list[str]] = {}
    taught: set[str] = set()
    for record in reader.records(RosterClass, tenant_id, ["sourced_id", "active", "term_sourced_ids"]):
        class_terms[record.sourced_id] = [str(t) for t in record.term_sourced_ids or []]
        if record.active and record.sourced_id not in leaving_classes:
            taught.update(class_terms[record.sourced_id])
    over = terms_over(terms, taught, today)
    over_classes = {sid for sid, ids in class_terms.items() if ids and all(t in over for t in ids)}
    rollover = Rollover()
    rollover.exempt["terms"] = sum(1 for sid in leaving_terms if sid in over)
    rollover.exempt["classes"] = sum(1 for sid in leaving_classes if sid in over_classes)
    leaving_enrollments = pending.get("enrollments", ())
    if leaving_enrollments:
        rollover.exempt["enrollments"] = sum(
            1
            for record in reader.records(RosterEnrollment, tenant_id, ["sourced_id", "class_sourced_id"])
            if record.sourced_id in leaving_enrollments and record.class_sourced_id in over_classes
        )
    named = {t for sid in leaving_classes if sid in over_classes for t in class_terms[sid]}
    named |= {sid for sid in leaving_terms if sid in over}
    rollover.over_terms = sorted({terms[t].title for t in named if t in terms})
    return rollover


def school_year_rollover(
    reader: RosterReader,
    tenant_id: str,
    pending: Mapping[str, Collection[str]],
    limits: Mapping[str, float],
    today: date,
) -> Rollover:
    """The rollover's share of the pending deactivations, judged only when it can matter: when
    terms, classes or enrollments would go over their limit (`limits`, per collection)."""
    if not any(len(pending.get(n, ())) > limits.get(n, float("inf")) for n in ROLLOVER_COLLECTIONS):
        return Rollover()
    return judge_rollover(reader, tenant_id, pending, today)
