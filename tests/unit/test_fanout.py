"""Nightly fan-out sending: batches of 10, and only the refused entries are sent again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from smartpass.data.sync_runs import SyncKind
from smartpass.sync.fanout import enqueue
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
