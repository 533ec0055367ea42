"""The docs as a newcomer meets them: a README read in five minutes, links that lead somewhere,
and benchmark figures that come from bench/results/*.json, never typed by hand. In-process only:
no subprocess, no network."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from bench import docs as bench_docs

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
BENCHMARKS = DOCS / "benchmarks.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 200

FENCED_CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
NOT_A_FILE = ("http://", "https://", "mailto:")


def link_targets(markdown: str) -> list[str]:
    """Every link target of a page (inline, image and reference links), code left out."""
    prose = INLINE_CODE.sub("", FENCED_CODE.sub("", markdown))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of a page that lead to no file or folder inside `root`."""
    broken = []
    for target in link_targets(page.read_text()):
        if target.lower().startswith(NOT_A_FILE):
            continue
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if not path:  # an anchor on the same page
            continue
        resolved = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
        resolved = resolved.resolve()
        if not resolved.is_relative_to(root.resolve()) or not resolved.exists():
            broken.append(target)
    return broken


def test_readme_is_read_in_five_minutes() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines; at most {MAX_README_LINES}: move it to docs/"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == [], f"{page.relative_to(ROOT)} links to what does not exist"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.split("#", 1)[0]).resolve() for t in link_targets(README.read_text())}
    orphans = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert orphans == [], f"docs pages the README does not link to: {orphans}"


def test_the_link_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "[ok](../there.md#part) [anchor](#here) [web](https://example.org/nowhere.md)\n"
        "[gone](../missing.md) ![image](gone.png) [outside](../../elsewhere.md)\n"
        "`[in code](nowhere.md)`\n"
        "```\n[in a block](nowhere.md)\n```\n"
        "[ref]: ../also-missing.md\n"
    )
    assert sorted(broken_links(page, root=tmp_path)) == sorted(
        ["../missing.md", "gone.png", "../../elsewhere.md", "../also-missing.md"]
    )


def test_the_benchmark_tables_are_what_bench_docs_generates() -> None:
    committed = BENCHMARKS.read_text()
    assert bench_docs.render(committed) == committed, (
        "docs/benchmarks.md differs from what bench/results/*.json generate: "
        "run `.venv/bin/python -m bench.docs` and commit the result"
    )


@pytest.fixture
def results(tmp_path: Path) -> Path:
    copy = tmp_path / "results"
    shutil.copytree(bench_docs.RESULTS, copy)
    return copy


def test_a_changed_figure_changes_the_page(results: Path) -> None:
    committed = BENCHMARKS.read_text()
    sso = results / "sso.json"
    figures = json.loads(sso.read_text())
    figures["callback"]["own_ms"]["p99"] = 49.9
    sso.write_text(json.dumps(figures))
    rendered = bench_docs.render(committed, results)
    assert rendered != committed
    assert "| callback's own time, p99 | 49.9 ms" in rendered


def test_a_new_results_file_gets_a_table_naming_its_file(results: Path) -> None:
    (results / "zz-new.json").write_text(json.dumps({"benchmark": "new", "seconds": {"p50": 1.25}}))
    rendered = bench_docs.render_results(results)
    assert "[`bench/results/zz-new.json`](../bench/results/zz-new.json)" in rendered
    assert "| `seconds.p50` | 1.25 |" in rendered


def test_only_the_text_between_the_markers_is_generated(results: Path) -> None:
    page = f"# Hand-written\n\nabove\n\n{bench_docs.BEGIN}\nstale\n{bench_docs.END}\n\nbelow\n"
    rendered = bench_docs.render(page, results)
    assert rendered.startswith("# Hand-written\n\nabove\n\n" + bench_docs.BEGIN)
    assert rendered.endswith(bench_docs.END + "\n\nbelow\n")
    assert "stale" not in rendered


def test_a_page_without_markers_is_refused(results: Path) -> None:
    with pytest.raises(bench_docs.DocsError, match="markers"):
        bench_docs.render("# no markers here\n", results)


# Figures a benchmark measured (not its parameters or goals), as a page would show them.
PARAMETERS = frozenset(
    ("users", "districts", "logins", "runs", "trials", "churn", "poll_seconds", "goal_seconds", "goals")
)


def _measured(data: Any, key: str = "") -> Iterator[int | float]:
    if key in PARAMETERS:
        return
    if isinstance(data, dict):
        for name, value in data.items():
            yield from _measured(value, name)
    elif isinstance(data, list):
        for value in data:
            yield from _measured(value, key)
    elif isinstance(data, float) or (isinstance(data, int) and not isinstance(data, bool) and data >= 1000):
        yield data


def _spellings(value: int | float) -> set[str]:
    spelled = {str(value), f"{value:,}"}
    # A figure rounded for prose is still a copy; below 10 its one-decimal spelling would be any
    # small number ("OneRoster 1.2"), so only the exact one counts there.
    if isinstance(value, float) and value >= 10 and round(value, 1) != value:
        spelled.add(f"{value:,.1f}")
    return spelled


def hand_copied_figures(text: str) -> set[str]:
    """Measured figures of bench/results/*.json that appear in a text (a heuristic: exact and
    one-decimal spellings, as whole numbers, not inside a longer number or word)."""
    found = set()
    for path in bench_docs.RESULTS.glob("*.json"):
        for value in _measured(json.loads(path.read_text())):
            for spelled in _spellings(value):
                if re.search(rf"(?<![\w.,]){re.escape(spelled)}(?![\w]|[.,]\d)", text):
                    found.add(spelled)
    return found


def _without_generated_part(text: str) -> str:
    start, end = text.find(bench_docs.BEGIN), text.find(bench_docs.END)
    return text[:start] + text[end + len(bench_docs.END) :] if 0 <= start < end else text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_benchmark_figure_is_copied_by_hand(page: Path) -> None:
    copied = hand_copied_figures(_without_generated_part(page.read_text()))
    assert copied == set(), (
        f"{page.relative_to(ROOT)} repeats benchmark figures {sorted(copied)} outside the generated "
        "tables: link to docs/benchmarks.md instead"
    )


def test_the_copy_finder_finds_a_copied_figure() -> None:
    sso = json.loads((bench_docs.RESULTS / "sso.json").read_text())
    p50 = sso["callback"]["own_ms"]["p50"]
    assert hand_copied_figures(f"the callback takes {p50} ms at the median") == {str(p50)}
    assert hand_copied_figures("nothing measured here") == set()
