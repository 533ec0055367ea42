"""PynamoDB's private internals are used in one module only, and only on versions they were
checked against: an upgrade fails here until pynamodb_internals.py is read again and the new
version added to CHECKED_VERSIONS."""

from __future__ import annotations

import ast
from pathlib import Path

import pynamodb

from smartpass.data import pynamodb_internals
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
PRIVATE = {"_get_connection", "_local", "_connection", "get_identifier_map"}
# `dispatch` is also a method name of our own web apps (the sandbox): checked in functions/ only.
# Tests may instrument PynamoDB (they count its requests); shipped and tool code may not.


def test_the_installed_pynamodb_is_one_the_internals_were_checked_against() -> None:
    assert pynamodb.__version__ in pynamodb_internals.CHECKED_VERSIONS, (
        f"PynamoDB {pynamodb.__version__}: check smartpass/data/pynamodb_internals.py against it, "
        "then add it to CHECKED_VERSIONS"
    )


def test_the_internals_still_have_the_shape_we_rely_on() -> None:
    connection = District._get_connection()  # no request is made: connections are lazy
    assert hasattr(connection.connection, "_local")
    assert callable(connection.connection.get_identifier_map)
    assert callable(connection.connection.dispatch)


def test_every_model_shares_one_botocore_session() -> None:
    first = District._get_connection().connection._local.session
    assert first is DistrictEvent._get_connection().connection._local.session


def test_no_other_module_touches_pynamodb_internals() -> None:
    offenders = []
    for folder in ("functions", "infra", "tools"):
        private = PRIVATE | ({"dispatch"} if folder == "functions" else set())
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "pynamodb_internals.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in private:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offenders == []
