"""The school-year rollover rule on in-memory repositories (tests/fakes): which terms are over,
and the hold that weighs only what is not a rollover. The integration tier proves it with a
rollover generated in the sandbox (tests/integration/test_rollover.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from smartpass.data.districts import District
from smartpass.data.roster import RosterClass, RosterEnrollment, RosterRecord, RosterTerm
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import SyncRun
from smartpass.sync.piece import Piece
from smartpass.sync.progress import ProgressParts
from smartpass.sync.rollover import Rollover, Term, judge_rollover, school_year_rollover, terms_over
from tests.fakes.stores import FakeDistricts, FakeRoster, fake_stores

TENANT = "7100"
NOW = datetime(2027, 7, 20, 2, 0, tzinfo=UTC)  # a summer night, between two school years
TODAY = NOW.date()


def _term(sid: str, start: str, end: str, *, year: bool = False, parent: str | None = None) -> Term:
    return Term(sid, sid, year, date.fromisoformat(start), date.fromisoformat(end), parent, staying=True)


def _terms(*terms: Term) -> dict[str, Term]:
    return {t.sourced_id: t for t in terms}


OLD_YEAR = _term("FY27", "2026-08-24", "2027-08-31", year=True)  # still "running" on TODAY
OLD_SEMESTER = _term("S1-27", "2026-08-24", "2027-01-15")  # no parent: by its dates
NEW_YEAR = _term("FY28", "2027-08-23", "2028-06-14", year=True)
NEW_SEMESTER = _term("S1-28", "2027-08-23", "2028-01-14", parent="FY28")


def test_a_term_that_ended_is_over_whatever_the_school_years_say() -> None:
    ended = _term("Q4", "2027-04-01", "2027-06-10")
    assert terms_over(_terms(ended, OLD_YEAR), taught=["FY27"], today=TODAY) == {"Q4"}


def test_the_new_years_classes_end_the_old_year_and_everything_in_it() -> None:
    terms = _terms(OLD_YEAR, OLD_SEMESTER, NEW_YEAR, NEW_SEMESTER)
    # The old year has not ended by its date; the new year's classes are in.
    assert terms_over(terms, taught=["FY28"], today=TODAY) == {"FY27", "S1-27"}
    # A term under the new year, by its parent, is the new year's even if its dates were odd.
    odd = _term("X", "2027-08-24", "2027-08-30", parent="FY28")
    assert "X" not in terms_over({**terms, "X": odd}, taught=["S1-28"], today=TODAY)


def test_next_years_terms_loaded_early_do_not_end_the_year_in_session() -> None:
    terms = _terms(OLD_YEAR, OLD_SEMESTER, NEW_YEAR, NEW_SEMESTER)
    # Only this year's classes are taught: next year has terms but no class yet. (The first
    # semester ended in January, by its date.)
    assert terms_over(terms, taught=["FY27"], today=TODAY) == {"S1-27"}
    # A new year that is itself leaving (being deactivated) cannot end the old one either.
    leaving = Term("FY28", "FY28", True, NEW_YEAR.start, NEW_YEAR.end, None, staying=False)
    assert terms_over({**terms, "FY28": leaving}, taught=["FY28"], today=TODAY) == {"S1-27"}


def test_a_school_year_per_school_in_session_at_once_is_not_over() -> None:
    # Review finding: the high school's year starts a week before the middle school's; both run
    # to June. Neither is an earlier year, so a mid-year drop of one school's classes still holds.
    high = _term("HS", "2027-08-16", "2028-06-14", year=True)
    middle = _term("MS", "2027-08-23", "2028-06-14", year=True)
    high_semester = _term("HS-S1", "2027-08-16", "2028-01-15", parent="HS")
    terms = _terms(OLD_YEAR, OLD_SEMESTER, high, middle, high_semester)
    over = terms_over(terms, taught=["MS", "HS-S1"], today=date(2027, 10, 1))
    assert over == {"FY27", "S1-27"}


def test_without_a_school_year_only_ended_terms_are_over() -> None:
    terms = _terms(_term("T1", "2026-09-01", "2027-08-30"), _term("T2", "2027-09-01", "2028-06-30"))
    assert terms_over(terms, taught=["T2"], today=TODAY) == set()


def test_a_parent_loop_is_not_followed_forever() -> None:
    a = _term("A", "2027-09-01", "2027-12-01", parent="B")
    b = _term("B", "2027-09-01", "2027-12-01", parent="A")
    assert terms_over(_terms(a, b), taught=["A"], today=TODAY) == set()


# ---------------------------------------------------------------- the hold, on the fakes
def _store(stores: Stores, model: type[RosterRecord], sid: str, **fields: Any) -> None:
    roster = stores.roster_reader
    assert isinstance(roster, FakeRoster)
    roster.table(model, TENANT)[sid] = {"active": True, "content_hash": "00", **fields}


def _rolled_over(stores: Stores, *, new_year: bool = True) -> dict[str, dict[str, tuple[str, str]]]:
    """A district the night after its SIS rolled over: 40 old classes (one enrollment each) and
    the old year's two terms about to go; the new year's terms and classes stored by this run."""
    for term in (OLD_YEAR, OLD_SEMESTER, *((NEW_YEAR, NEW_SEMESTER) if new_year else ())):
        _store(
            stores,
            RosterTerm,
            term.sourced_id,
            title=f"Title {term.sourced_id}",
            session_type="schoolYear" if term.school_year else "semester",
            start_date=str(term.start),
            end_date=str(term.end),
            parent_sourced_id=term.parent,
        )
    for n in range(40):
        _store(stores, RosterClass, f"old-{n}", title="c", school_sourced_id="s", term_sourced_ids=["FY27"])
        _store(stores, RosterEnrollment, f"e-old-{n}", user_sourced_id=f"u{n}", class_sourced_id=f"old-{n}")
        if new_year:
            _store(
                stores, RosterClass, f"new-{n}", title="c", school_sourced_id="s", term_sourced_ids=["FY28"]
            )
    _store(stores, RosterClass, "homeroom", title="h", school_sourced_id="s", term_sourced_ids=[])
    _store(stores, RosterEnrollment, "e-home", user_sourced_id="u1", class_sourced_id="homeroom")
    gone = ("absent", "00")
    return {
        "terms": {"FY27": gone, "S1-27": gone},
        "classes": {**{f"old-{n}": gone for n in range(40)}, "homeroom": gone},
        "enrollments": {**{f"e-old-{n}": gone for n in range(40)}, "e-home": gone},
    }


def _piece(
    stores: Stores, pending: dict[str, dict[str, tuple[str, str]]], seniors: int, minimum: int
) -> Piece:
    districts = stores.districts
    assert isinstance(districts, FakeDistricts)
    district = districts.put(District(tenant_id=TENANT, name="Fake District", state="syncing"))
    district.sync_settings.deactivation_threshold_percent = 0
    district.sync_settings.deactivation_threshold_minimum = minimum
    names = ["terms", "users", "classes", "enrollments"]
    piece = Piece(
        stores=stores, run=SyncRun(tenant_id=TENANT, run_id="r", kind="nightly", trigger="t"),
        district=district, client=None,  # type: ignore[arg-type]
        time_left=lambda: 600.0, piece=0, now=NOW, names=names,
        progress=ProgressParts(stores.progress, TENANT, "r", NOW),
        counts={n: Counter({"active_before": 100, "distinct": 50}) for n in names},
    )  # fmt: skip
    piece.pending = {**pending, "users": {f"senior-{n}": ("absent", "00") for n in range(seniors)}}
    return piece


def test_a_rollover_is_not_held_while_the_graduating_class_stays_under_the_threshold() -> None:
    stores = fake_stores()
    piece = _piece(stores, _rolled_over(stores), seniors=10, minimum=10)
    assert piece.over_threshold() == []
    # The homeroom (no term) and its enrollment count, and are under the limit of 10.
    assert piece.findings == [
        "School-year rollover: 40 classes, 40 enrollments and 2 terms to deactivate belong to terms "
        "that are over (Title FY27, Title S1-27); they do not count toward the safety hold"
    ]
    piece.over_threshold()  # judged again in a later piece: the reason is not repeated
    assert len(piece.findings) == 1


def test_a_rollover_is_held_when_users_exceed_the_threshold_and_only_for_them() -> None:
    stores = fake_stores()
    piece = _piece(stores, _rolled_over(stores), seniors=11, minimum=10)
    assert piece.over_threshold() == ["11 of 100 active users would be deactivated, over the limit of 10"]
    assert piece.findings[0].startswith("School-year rollover: 40 classes, 40 enrollments and 2 terms")


def test_classes_vanishing_without_a_new_school_year_are_held_as_before() -> None:
    stores = fake_stores()
    piece = _piece(stores, _rolled_over(stores, new_year=False), seniors=0, minimum=10)
    assert piece.over_threshold() == [
        "41 of 100 active classes would be deactivated, over the limit of 10",
        "41 of 100 active enrollments would be deactivated, over the limit of 10",
    ]
    # Only the first semester, which ended in January, is set aside.
    assert piece.findings == [
        "School-year rollover: 1 term to deactivate belongs to terms that are over (Title S1-27); "
        "they do not count toward the safety hold"
    ]


class CountingReader(FakeRoster):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def records(self, model: type[RosterRecord], tenant_id: str, attributes: Any) -> Any:
        self.reads.append(model.__name__)
        return super().records(model, tenant_id, attributes)


def test_the_district_is_read_only_when_the_rollover_can_matter() -> None:
    reader = CountingReader()
    pending = {"classes": {"c1"}, "enrollments": {"e1"}, "users": {f"u{n}" for n in range(500)}}
    limits = {"classes": 10.0, "enrollments": 10.0, "users": 10.0, "terms": 10.0}
    assert school_year_rollover(reader, TENANT, pending, limits, TODAY).exempt == {}
    assert reader.reads == []  # users over their limit are never a rollover: nothing read
    judge_rollover(reader, TENANT, pending, TODAY)
    assert reader.reads == ["RosterTerm", "RosterClass", "RosterEnrollment"]


def test_the_reason_counts_in_plain_words() -> None:
    assert Rollover().finding is None
    assert Rollover(exempt={"classes": 1, "terms": 0}, over_terms=["Fall"]).finding == (
        "School-year rollover: 1 class to deactivate belongs to terms that are over (Fall); "
        "they do not count toward the safety hold"
    )
    many = Rollover(exempt={"enrollments": 12_000, "classes": 2}, over_terms=[f"T{n}" for n in range(7)])
    assert many.finding == (
        "School-year rollover: 2 classes and 12,000 enrollments to deactivate belong to terms that are "
        "over (T0, T1, T2, T3, T4 and 2 more); they do not count toward the safety hold"
    )
