"""Injected latency of OneRoster answers, so a benchmark can give the sandbox a real server's
pace (code.org saw `x-page-generation-time-ms` of about 365 ms for a 2-row page, B3).

Each OneRoster request that reaches a tenant's data waits `per_request_ms` plus `per_row_ms` for
every row in its answer, while it counts as in flight (traffic.py) and without holding the
sandbox's lock, so concurrent requests wait side by side as they would on a real server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Latency:
    per_request_ms: float = 0.0
    per_row_ms: float = 0.0

    def seconds(self, rows: int) -> float:
        return (self.per_request_ms + self.per_row_ms * rows) / 1000

    def as_json(self) -> dict[str, float]:
        return {"per_request_ms": self.per_request_ms, "per_row_ms": self.per_row_ms}

    @classmethod
    def from_json(cls, body: Any) -> Latency:
        """The admin API's body; a key left out is 0."""
        if not isinstance(body, dict):
            raise ValueError("latency must be a JSON object")
        unknown = sorted(set(body) - {"per_request_ms", "per_row_ms"})
        if unknown:
            raise ValueError(f"unknown latency keys {unknown}: per_request_ms, per_row_ms")
        values = {name: body.get(name, 0) for name in ("per_request_ms", "per_row_ms")}
        for name, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
        return cls(float(values["per_request_ms"]), float(values["per_row_ms"]))
