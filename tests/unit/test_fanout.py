"""Nightly fan-out: which districts are synced tonight, batches of 10, and only the refused
entries are sent again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smartpass.data.districts import District
from smartpass.data.sync_runs import SyncKind
from smartpass.sync.fanout import enqueue, plan_nightly
from smartpass.sync.requests import SyncRequest


class RefusingSqs:
    """An SQS client that refuses the given entry ids the first `times` they are sent."""

    def __init__(self, refuse: dict[str, int]) -> None:
        self.refuse = dict(refuse)
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [e["Id"] for e in Entries]
        self.calls.append(ids)
        failed = []
        for entry_id in ids:
            if self.refuse.get(entry_id, 0) > 0:
                self.refuse[entry_id] -= 1
                failed.append({"Id": entry_id, "Code": "InternalError", "SenderFault": False})
        assert all(json.loads(e["MessageBody"])["tenant_id"] == e["Id"] for e in Entries)
        return {
            "Successful": [{"Id": i} for i in ids if i not in {f["Id"] for f in failed}],
            "Failed": failed,
        }


def _requests(n: int) -> list[SyncRequest]:
    at = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    return [
        SyncRequest(tenant_id=str(3000 + i), kind=SyncKind.NIGHTLY, trigger=f"schedule:{at}", requested_at=at)
        for i in range(n)
    ]


def test_batches_of_ten_and_only_refused_entries_are_sent_again() -> None:
    sqs = RefusingSqs({"3003": 1, "3012": 2})
    sent = enqueue(sqs, "https://queue", _requests(13), sleep=lambda _: None)  # type: ignore[arg-type]
    assert sorted(sent) == sorted(str(3000 + i) for i in range(13))
    assert [len(c) for c in sqs.calls] == [10, 1, 3, 1, 1]
    assert sqs.calls[1] == ["3003"] and sqs.calls[3] == ["3012"] and sqs.calls[4] == ["3012"]


def test_an_entry_refused_every_time_fails_the_tick_after_sending_the_rest() -> None:
    sqs = RefusingSqs({"3001": 99})
    with pytest.raises(RuntimeError, match=r"refused 1 sync request\(s\) 3 times"):
        enqueue(sqs, "https://queue", _requests(4), sleep=lambda _: None)  # type: ignore[arg-type]
    assert sqs.calls == [["3000", "3001", "3002", "3003"], ["3001"], ["3001"]]


def _district(tenant_id: str, state: str, lease_minutes: int | None = None) -> District:
    district = District(tenant_id=tenant_id, name=f"D{tenant_id}", state=state)
    if lease_minutes is not None:
        district.sync_lease_run_id = "some-run"
        district.sync_lease_expires_at = AT + timedelta(minutes=lease_minutes)
    return district


AT = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


def test_plan_syncs_active_and_failed_districts_and_rescues_a_stuck_one() -> None:
    districts = [
        _district("1", "active"),
        _district("2", "error"),
        _district("3", "paused"),
        _district("4", "held"),
        _district("5", "syncing", lease_minutes=30),  # a run is going on: leave it
        _district("6", "syncing", lease_minutes=-30),  # its run died: tonight's run takes over
        _district("7", "syncing"),
    ]
    planned, skipped = plan_nightly(districts, AT, AT.date())
    assert [r.tenant_id for r in planned] == ["1", "2", "6", "7"]
    assert skipped == {"3": "state is paused", "4": "state is held", "5": "state is syncing"}
    assert {r.trigger for r in planned} == {f"schedule:{AT.isoformat()}"}
