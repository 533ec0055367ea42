"""`smartpass-ops` / `python -m smartpass_ops`."""

from __future__ import annotations

import sys

from rich.text import Text

from smartpass_ops.cli import app
from smartpass_ops.render import err

EXIT_UNEXPECTED = 70  # EX_SOFTWARE: never 1, which several commands use as an answer ("cannot")


def main() -> None:
    try:
        app()
    except Exception as exc:  # an AWS error, a lost connection: said plainly, not a traceback
        message = f"Error: the command stopped on {type(exc).__name__}: {str(exc)[:300]}"
        err().print(Text(message, style="red"))
        sys.exit(EXIT_UNEXPECTED)


if __name__ == "__main__":
    main()
