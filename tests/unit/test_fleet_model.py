"""The fleet benchmark's projection model (bench/fleet_model.py): the night's simulation and the
per-district time, on small cases worked out by hand."""

from __future__ import annotations

import math

import pytest
from bench.fleet_model import Assumptions, DistrictWork, project, scaled, seconds, simulate


def _assumptions(**overrides: float) -> Assumptions:
    values: dict[str, float] = {
        "per_request_seconds": 0.3,
        "per_row_seconds": 0.00005,
        "cpu_per_row_seconds": 0.0001,
        "item_bytes": 200.0,
        "writes_per_change": 1.0,
        "bookkeeping_writes_per_district": 10.0,
        "workers": 2,
        **overrides,
    }
    return Assumptions(**values)  # type: ignore[arg-type]


def test_equal_districts_share_the_workers_evenly() -> None:
    night = simulate([10.0, 10.0, 10.0, 10.0], workers=2, piece_seconds=100.0)
    assert night["makespan_seconds"] == 20.0


def test_a_district_longer_than_a_piece_is_continued_at_the_back_of_the_queue() -> None:
    # One worker, pieces of 5 s: 0-5 district 0 (7 s left), 5-8 district 1, 8-13 district 0
    # (2 s left, visible since 5), 13-15 district 0 ends.
    assert simulate([12.0, 3.0], workers=1, piece_seconds=5.0, order=[0, 1])["makespan_seconds"] == 15.0


def test_a_continuation_is_not_taken_before_its_piece_has_ended() -> None:
    # Two workers: district 1 ends at 3, its worker waits until district 0's continuation is
    # visible at 5 and runs it 5-10; the other worker, free at 5, waits for the next one (10-12).
    assert simulate([12.0, 3.0], workers=2, piece_seconds=5.0, order=[0, 1])["makespan_seconds"] == 12.0


def test_one_districts_time_adds_classlink_cpu_and_dynamodb() -> None:
    a = _assumptions(lambda_cpu_factor=2.0)
    work = DistrictWork(users=100, records=600, rows=600, requests=5, changes=30)
    expected = (
        5 * 0.3 + 600 * 0.00005 + 600 * 0.0001 * 2.0 + 1 * a.query_page_seconds + 2 * a.write_batch_seconds
    )
    assert seconds(work, a) == pytest.approx(expected)


def test_scaling_keeps_the_fleets_shape_and_reaches_its_totals() -> None:
    measured = [
        DistrictWork(users=100, records=600, rows=600, requests=5, changes=6),
        DistrictWork(users=300, records=1800, rows=1800, requests=5, changes=18),
    ]
    fleet = scaled(measured, districts=4, users=4000, a=_assumptions())
    assert [w.users for w in fleet] == [500, 1500, 500, 1500]
    assert sum(w.users for w in fleet) == 4000
    assert fleet[1].rows == 9000 and fleet[1].requests == 5


def test_the_projection_counts_units_from_the_records_and_the_changes() -> None:
    measured = [DistrictWork(users=100, records=4096, rows=4096, requests=5, changes=10)]
    result = project(measured, districts=2, users=200, a=_assumptions(item_bytes=1000.0))
    # Reads: 8,192 records x 1,000 bytes / 4 KB x 0.5; writes: 20 changes + 2 x 10 bookkeeping.
    assert result["dynamodb_read_units"] == round(8192 * 1000 / 4096 * 0.5)
    assert result["dynamodb_write_units"] == 20 + 20
    assert result["goal_met"] is True and math.isfinite(result["makespan_seconds"])
