"""The report's durations read as a person would write them (issue 18: "finished in 1 seconds")."""

from __future__ import annotations

import pytest

from smartpass.sync.report import _duration


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.4, "0 seconds"), (1.2, "1 second"), (2, "2 seconds"), (89, "89 seconds"), (125, "2 min 05 s")],
)
def test_a_duration_is_said_in_words(seconds: float, said: str) -> None:
    assert _duration(seconds) == said
