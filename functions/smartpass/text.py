"""Text that came from outside (ClassLink tenant and person names, a district's data) made safe
for where it is shown: never a terminal control sequence, never a line break where one line is
expected.

Stripped: C0 controls (ESC among them: `\\x1b[31m` recolours an operator's terminal, `\\x1b]8;;`
makes a link), DEL, C1 controls (`\\x9b` is a one-byte CSI on some terminals) and the Unicode
bidirectional overrides and isolates, which make a terminal show text in another order than
it is (a name that reads as someone else's).
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, line_breaks: bool = False) -> str:
    """`text` without control characters; with `line_breaks`, newlines (and tabs) are kept."""
    if line_breaks:
        return "\n".join(UNSAFE.sub("", line.replace("\t", "    ")) for line in text.split("\n"))
    return UNSAFE.sub("", text)


def one_line(text: str) -> str:
    """Control characters dropped, any run of whitespace (line breaks included) one space."""
    return " ".join(UNSAFE.sub(" ", text).split())
