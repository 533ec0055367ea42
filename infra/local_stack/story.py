"""The story of `make run` on stdout: one JSON line per step a person cares about.

Told from what the system leaves behind, as an operator would see it: the districts' history
(discovered, connected, paused...), the SyncRuns (started, finished with counts, findings) and
the messages that reached the operator topic (a queue subscribed to it, like an operator's
e-mail). Nothing in functions/ knows it is being watched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from smartpass.data.base import plain_map
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import TERMINAL_STATES, SyncState

LINK_TOKEN = re.compile(r"([?&]token=)[A-Za-z0-9._~%-]+")
# History kinds told as `district_<kind>` lines (report_sent is told from the topic itself).
DISTRICT_KINDS = (
    "discovered",
    "registered",
    "connected",
    "connection_failed",
    "paused",
    "resumed",
    "renamed",
    "credentials_rotated",
)


class Story:
    def __init__(
        self,
        stores: Stores,
        sqs: Any,
        sns: Any,
        operator_topic_arn: str,
        emit: Callable[[dict[str, Any]], None],
    ):
        self._stores, self._sqs, self._emit = stores, sqs, emit
        self._seen_events: set[tuple[str, str]] = set()
        self._runs: dict[tuple[str, str], str] = {}  # (tenant, run) -> last state told
        url = sqs.create_queue(QueueName="smartpass-local-operator-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=operator_topic_arn, Protocol="sqs", Endpoint=arn)
        self._inbox = url
        self.lines: list[dict[str, Any]] = []

    def tell(self, line: dict[str, Any]) -> None:
        self.lines.append(line)
        self._emit(line)

    def tick(self, event: str, outcome: Any, next_in_seconds: float) -> None:
        """A schedule fired: what its function answered, in short (what changed, or "none"),
        and when it fires next. `outcome` is the invocation (ok, result, error)."""
        line: dict[str, Any] = {"event": event, "at": datetime.now(UTC).isoformat(), "ok": outcome.ok}
        if outcome.ok:
            said = outcome.result if isinstance(outcome.result, dict) else {}
            changes = {k: v for k, v in said.items() if v and k not in ("trigger", "queued_runs")}
            line["changes"] = changes or "none"
        else:
            line["why"] = (outcome.error or "failed").split("\n", 1)[0][:300]
        self.tell({**line, "next_in_seconds": next_in_seconds})

    def poll(self) -> int:
        before = len(self.lines)
        self._district_events()
        self._runs_progress()
        self._operator_messages()
        return len(self.lines) - before

    def _district_events(self) -> None:
        events = sorted(self._stores.history.all(), key=lambda e: e.event_id)
        for event in events:
            key = (event.tenant_id, event.event_id)
            if key in self._seen_events:
                continue
            self._seen_events.add(key)
            if event.kind in DISTRICT_KINDS:
                self.tell(
                    {
                        "event": f"district_{event.kind}",
                        "at": event.at.isoformat(),
                        "tenant_id": event.tenant_id,
                        "state": event.to_state,
                        "why": event.reason,
                        "by": event.actor,
                    }
                )

    def _runs_progress(self) -> None:
        for run in sorted(self._stores.runs.all(), key=lambda r: r.run_id):
            key = (run.tenant_id, run.run_id)
            told = self._runs.get(key)
            if run.state == told or run.state == SyncState.QUEUED.value:
                continue
            base = {"tenant_id": run.tenant_id, "run_id": run.run_id, "kind": run.kind}
            if told is None:
                at = run.started_at.isoformat() if run.started_at else None
                self.tell({"event": "sync_started", "at": at, **base, "trigger": run.trigger})
            if SyncState(run.state) in TERMINAL_STATES:
                counts = plain_map(run.counts).get("total")
                self.tell(
                    {
                        "event": "sync_finished",
                        "at": run.finished_at.isoformat() if run.finished_at else None,
                        **base,
                        "state": run.state,
                        "seconds": round(float(run.seconds or 0), 1),
                        "requests": int(run.requests or 0),
                        "counts": counts,
                        "synced": plain_map(run.synced) or None,
                        "why": run.error,
                    }
                )
                if run.health is not None:
                    findings = [
                        {"message": f.message, "fix": f.fix, "count": int(f.count)} for f in run.health
                    ]
                    self.tell({"event": "findings", **base, "findings": findings})
            self._runs[key] = run.state

    def _operator_messages(self) -> None:
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._inbox, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()}
                self.tell(
                    {
                        "event": "report_sent"
                        if attributes.get("event") == "sync_report"
                        else "operator_message",
                        "at": envelope.get("Timestamp"),
                        "to": "operator topic",
                        "tenant_id": attributes.get("tenant_id"),
                        "subject": envelope.get("Subject"),
                        "message": _without_link_tokens(envelope.get("Message")),
                    }
                )
                self._sqs.delete_message(QueueUrl=self._inbox, ReceiptHandle=message["ReceiptHandle"])


def _without_link_tokens(text: str | None) -> str | None:
    """A report carries the district's signed status link; stdout is no place for a token."""
    return None if text is None else LINK_TOKEN.sub(r"\1<token>", text)
