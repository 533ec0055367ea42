"""The layering design.md asks for, checked on the source: the Lambda artifact imports nothing
that is not shipped, the domain never imports a handler or Lambda types, ClassLink clients never
import the domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
HANDLER_PACKAGES = {"invite_handler", "nightly_sync", "sso_callback", "operator_console"}
NEVER_SHIPPED = {
    "local_stack",
    "classlink_sandbox",
    "moto",
    "pytest",
    "playwright",
    "cfnlint",
    "tests",
    "bench",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(folder: str) -> list[Path]:
    return sorted((FUNCTIONS / folder).rglob("*.py"))


@pytest.mark.parametrize("path", sorted(FUNCTIONS.rglob("*.py")), ids=lambda p: str(p.relative_to(FUNCTIONS)))
def test_shipped_code_imports_only_shipped_packages(path: Path) -> None:
    assert not {name.split(".")[0] for name in _imports(path)} & NEVER_SHIPPED


@pytest.mark.parametrize("path", _files("smartpass"), ids=lambda p: str(p.relative_to(FUNCTIONS)))
def test_domain_knows_nothing_of_handlers_or_lambda(path: Path) -> None:
    imports = _imports(path)
    assert not {name.split(".")[0] for name in imports} & HANDLER_PACKAGES
    assert not any(name.startswith("aws_lambda_powertools") for name in imports), path


@pytest.mark.parametrize("path", _files("smartpass/classlink"), ids=lambda p: p.name)
def test_classlink_clients_do_not_import_the_domain(path: Path) -> None:
    assert all(
        name.startswith("smartpass.classlink") for name in _imports(path) if name.startswith("smartpass")
    )


@pytest.mark.parametrize("package", sorted(HANDLER_PACKAGES))
def test_handler_files_stay_short(package: str) -> None:
    for path in _files(package):
        assert len(path.read_text().splitlines()) <= 100, path
