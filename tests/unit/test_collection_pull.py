"""The per-collection diff on its own: what is written, what becomes pending, and when a pull
does not add up. The store is an in-memory recorder (the writes themselves are covered by the
integration tests against moto server)."""

from __future__ import annotations

from typing import Any

import pytest

from smartpass.classlink.oneroster import Page
from smartpass.sync.collections import COLLECTIONS, content_hash, role_mapping
from smartpass.sync.pull import CollectionPull, InconsistentPull


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []

    def create(self, sourced_id: str, attributes: dict[str, Any], digest: str) -> None:
        self.writes.append(("create", sourced_id))

    def update(self, sourced_id: str, attributes: dict[str, Any], digest: str, *, reactivate: bool) -> None:
        self.writes.append(("reactivate" if reactivate else "update", sourced_id))

    def flush(self) -> None:
        pass


def _user(sid: str, role: str = "student", **extra: Any) -> dict[str, Any]:
    return {
        "sourcedId": sid,
        "status": "active",
        "givenName": "Zoë",
        "familyName": "O'Brien",
        "role": role,
        "enabledUser": "true",
        "orgs": [{"sourcedId": "200101", "type": "org"}],
        "grades": ["09"],
        "email": "",
        "password": "never-read",
        **extra,
    }


def _stored(row: dict[str, Any]) -> int:
    spec = COLLECTIONS["users"]
    attributes = spec.to_attributes(spec.record_type.model_validate(row), role_mapping(None))
    assert attributes is not None
    return int(content_hash(attributes), 16)


def _pull(existing: dict[str, int | None]) -> tuple[CollectionPull, Recorder]:
    recorder = Recorder()
    pull = CollectionPull(COLLECTIONS["users"], recorder, role_mapping(None), dict(existing))  # type: ignore[arg-type]
    return pull, recorder


def _page(rows: list[Any], total: int | None, perm_rev: str | None = "7") -> Page:
    return Page(rows=rows, offset=0, limit=100, total=total, perm_rev=perm_rev)


def test_each_kind_of_change_is_written_once_and_unchanged_records_not_at_all() -> None:
    same, edited, back = _user("s1"), _user("s2"), _user("s3")
    pull, recorder = _pull(
        {
            "s1": _stored(same),
            "s2": _stored({**edited, "familyName": "Old"}),
            "s3": ~_stored(back),  # deactivated earlier
            "s4": _stored(_user("s4")),  # gone from ClassLink
            "s5": _stored(_user("s5")),  # now tobedeleted
            "s6": _stored(_user("s6")),  # now a guardian: a role we do not sync
        }
    )
    rows = [same, edited, back, _user("s5", status="tobedeleted"), _user("s6", role="guardian"), _user("s7")]
    pull.apply(_page(rows, total=6))
    assert pull.finish_pull() == []
    assert recorder.writes == [("update", "s2"), ("reactivate", "s3"), ("create", "s7")]
    assert {sid: reason for sid, (reason, _) in pull.pending.items()} == {
        "s4": "absent",
        "s5": "tobedeleted",
        "s6": "role not synced",
    }
    assert pull.counts["unchanged"] == 1


def test_an_invalid_record_is_reported_never_written_and_never_absent() -> None:
    pull, recorder = _pull({"s1": _stored(_user("s1"))})
    pull.apply(_page([_user("s1", givenName=None), {"status": "active"}], total=2))
    assert pull.counts["invalid"] == 2 and recorder.writes == []
    assert pull.invalid_samples[0].startswith("users s1: givenName")
    findings = pull.finish_pull()
    assert pull.pending == {}  # s1 exists in ClassLink, and an id-less row forbids absence
    assert "without a sourcedId" in findings[0]


def test_overlapping_pages_count_each_record_once_and_a_skipped_record_fails_the_pull() -> None:
    pull, recorder = _pull({})
    pull.apply(_page([_user("a"), _user("b")], total=3))
    pull.apply(_page([_user("b")], total=3))  # the next page overlapped and skipped "c"
    assert pull.duplicates == 1 and recorder.writes == [("create", "a"), ("create", "b")]
    with pytest.raises(InconsistentPull, match="said 3 users but the pages held 2"):
        pull.finish_pull()


def test_a_moving_revision_or_total_fails_the_pull() -> None:
    pull, _ = _pull({})
    pull.apply(_page([_user("a")], total=2, perm_rev="7"))
    with pytest.raises(InconsistentPull, match="x-perm-rev"):
        pull.apply(_page([_user("b")], total=2, perm_rev="8"))
    with pytest.raises(InconsistentPull, match="x-total-count moved"):
        pull.apply(_page([_user("b")], total=3, perm_rev="7"))


def test_without_a_total_nobody_is_deactivated_for_absence() -> None:
    pull, _ = _pull({"gone": _stored(_user("gone"))})
    pull.apply(_page([_user("a")], total=None, perm_rev=None))
    assert "no x-total-count" in pull.finish_pull()[0]
    assert pull.pending == {}


class HeldRecorder(Recorder):
    """A recorder that also holds records, and counts what the pull reads of them."""

    def __init__(self, held: dict[str, int]) -> None:
        super().__init__()
        self.held_records = held
        self.looked_up: list[str] = []
        self.full_passes = 0

    def lookup(self, sourced_ids: list[str]) -> dict[str, int]:
        self.looked_up += sourced_ids
        return {sid: self.held_records[sid] for sid in sourced_ids if sid in self.held_records}

    def held(self) -> Any:
        self.full_passes += 1
        return iter(list(self.held_records.items()))


def test_a_resumed_pull_looks_up_its_pages_and_judges_absence_in_one_pass() -> None:
    rows = {sid: _user(sid) for sid in ("a", "b", "c", "d", "e")}
    store = HeldRecorder({sid: _stored(row) for sid, row in rows.items()})
    # An earlier piece saw a and b; c and d come in this piece; e has left ClassLink.
    pull = CollectionPull(COLLECTIONS["users"], store, role_mapping(None), {}, resumed=True)  # type: ignore[arg-type]
    pull.mark_seen(["a", "b"])
    pull.total = 4
    pull.apply(_page([rows["c"], rows["d"]], total=4))
    assert sorted(store.looked_up) == ["c", "d"]  # this page's records only
    assert store.writes == [] and pull.counts["unchanged"] == 2
    assert pull.finish_pull() == []
    assert store.full_passes == 1
    assert sorted(pull.pending) == ["e"] and pull.pending["e"][0] == "absent"
