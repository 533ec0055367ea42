"""The layering design.md asks for, checked on the source: the Lambda artifact imports nothing
that is not shipped; the domain never imports a handler, the shared AWS package, Powertools or
boto3; no handler package imports another (what several share lives in `smartpass_aws`);
ClassLink clients never import the domain; no import circles anywhere in our code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
SOURCE_FOLDERS = (FUNCTIONS, ROOT / "infra", ROOT / "tools")
HANDLER_PACKAGES = {"invite_handler", "nightly_sync", "sso_callback", "operator_console", "district_holds"}
SHARED_AWS = "smartpass_aws"
# The domain is handed its AWS clients and stores; it never makes them.
NOT_IN_THE_DOMAIN = HANDLER_PACKAGES | {SHARED_AWS, "boto3", "aws_lambda_powertools"}
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
def test_domain_knows_nothing_of_handlers_lambda_or_boto3(path: Path) -> None:
    assert not {name.split(".")[0] for name in _imports(path)} & NOT_IN_THE_DOMAIN


@pytest.mark.parametrize("path", _files(SHARED_AWS), ids=lambda p: p.name)
def test_shared_aws_code_imports_no_handler(path: Path) -> None:
    assert not {name.split(".")[0] for name in _imports(path)} & HANDLER_PACKAGES


@pytest.mark.parametrize("package", sorted(HANDLER_PACKAGES))
def test_no_handler_package_imports_another(package: str) -> None:
    for path in _files(package):
        others = {name.split(".")[0] for name in _imports(path)} & (HANDLER_PACKAGES - {package})
        assert not others, f"{path.relative_to(FUNCTIONS)} imports {others}: share it through {SHARED_AWS}"


def _modules() -> dict[str, Path]:
    """Every module of our three source folders by its dotted name (packages by their own)."""
    found: dict[str, Path] = {}
    for folder in SOURCE_FOLDERS:
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> our modules it imports, at any depth in the file (a function-level import
    closes a circle as surely as one at the top)."""

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {ours(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets |= {ours(f"{node.module}.{alias.name}") for alias in node.names}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def _circles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def test_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert list(_circles(graph)) == [["a", "b", "c"]]


def test_no_import_circles() -> None:
    assert list(_circles(_import_graph(_modules()))) == []


@pytest.mark.parametrize("path", _files("smartpass/classlink"), ids=lambda p: p.name)
def test_classlink_clients_do_not_import_the_domain(path: Path) -> None:
    assert all(
        name.startswith("smartpass.classlink") for name in _imports(path) if name.startswith("smartpass")
    )


@pytest.mark.parametrize("package", sorted(HANDLER_PACKAGES))
def test_handler_files_stay_short(package: str) -> None:
    for path in _files(package):
        assert len(path.read_text().splitlines()) <= 100, path
