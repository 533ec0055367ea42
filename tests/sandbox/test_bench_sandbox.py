"""`make bench` prints its figures and leaves the tracked results file alone unless `--save`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench import sandbox_large_district as bench

from classlink_sandbox.generator import DistrictSpec


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(bench, "SPEC", DistrictSpec(tenant_id=9001, name="Bench", students=30, teachers=3))
    results = tmp_path / "results" / "sandbox_large_district.json"
    monkeypatch.setattr(bench, "RESULTS", results)
    return results


def test_without_save_it_prints_one_json_line_and_writes_nothing(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = bench.cli([])
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == figures and figures["teachers_matched"] == 3
    assert not small.exists()


def test_with_save_it_also_writes_the_results_file(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    figures = bench.cli(["--save"])
    assert json.loads(capsys.readouterr().out) == figures
    assert json.loads(small.read_text()) == figures


def test_the_tracked_results_file_is_where_save_writes() -> None:
    assert Path(bench.__file__).parent / "results" / "sandbox_large_district.json" == bench.RESULTS
