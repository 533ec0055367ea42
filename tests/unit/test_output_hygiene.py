"""Text from ClassLink never reaches a terminal or an SNS subject with control characters in it
(security review finding 6): a tenant named with ESC sequences recoloured the operator's
terminal, and the same name made a Subject real SNS refuses."""

from __future__ import annotations

import io
import string

import pytest
from rich.table import Table
from rich.text import Text

from smartpass.text import one_line, printable
from smartpass_aws.reports import SNS_SUBJECT_MAX, sns_subject
from smartpass_ops.render import SafeConsole

HOSTILE = "\x1b[31mMaple\x1b]8;;https://evil.example\x07 Valley\x9b2J\u202eloohcS\r\nDistrict\x00"


def test_printable_drops_every_control_character_and_bidi_override() -> None:
    assert printable(HOSTILE) == "[31mMaple]8;;https://evil.example Valley2JloohcSDistrict"
    assert printable("line one\nline\x1b two", line_breaks=True) == "line one\nline two"


def test_one_line_makes_one_line() -> None:
    assert one_line("  Maple\r\n\tValley\x1b ") == "Maple Valley"


@pytest.mark.parametrize(
    "subject",
    [HOSTILE, "Peña Unified: initial roster sync succeeded", "\u00a0\x07 ", "x" * 300, "«Ελληνικά» 学区"],
)
def test_an_sns_subject_is_always_one_sns_accepts(subject: str) -> None:
    made = sns_subject(subject)
    assert made.isascii() and made.isprintable() and 0 < len(made) <= SNS_SUBJECT_MAX
    assert made[0].isalnum() or made[0] in string.punctuation


def test_an_sns_subject_keeps_what_ascii_can_say() -> None:
    assert sns_subject("Peña Unified: synced") == "Pena Unified: synced"
    assert sns_subject("x" * 300).endswith("...")


@pytest.mark.parametrize("color", [None, "standard"])
def test_the_operator_console_strips_escapes_from_the_data_but_keeps_its_own_styles(
    color: str | None,
) -> None:
    written = io.StringIO()
    console = SafeConsole(file=written, force_terminal=color is not None, color_system=color, width=120)
    table = Table("Name", "State")
    table.add_row(Text(HOSTILE), Text("active", style="green"))
    console.print(table)
    shown = written.getvalue()
    assert "\x1b[31mMaple" not in shown and "\x1b]8" not in shown and "\x9b" not in shown
    assert "\u202e" not in shown and "\x07" not in shown
    assert "Maple" in shown and "District" in shown
    if color:
        assert "\x1b[32mactive" in shown  # Rich's own colour codes still reach the terminal
