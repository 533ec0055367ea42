"""`smartpass-ops` / `python -m smartpass_ops`."""

from __future__ import annotations

from smartpass_ops.cli import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
