"""The data-access seam: storage is reached through the repositories in `smartpass.data`
(Protocols with their PynamoDB implementations); nothing else imports PynamoDB or calls a
model's query methods. Checked on the source of the shipped code, the operator CLI and the
local stack.

NOT_YET_BEHIND_THE_SEAM listed the modules still to be moved behind it; it is empty now (the
SSO and the operators' views were the last). It may only shrink: a module listed there that no
longer needs its entry fails the test until the entry is removed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "functions" / "smartpass" / "data"
CHECKED = sorted(
    path
    for folder in ("functions", "tools", "infra")
    for path in (ROOT / folder).rglob("*.py")
    if DATA not in path.parents
)
MODELS = {
    "District",
    "DistrictEvent",
    "SyncRun",
    "SyncProgress",
    "RosterRecord",
    "RosterUser",
    "RosterOrg",
    "RosterClass",
    "RosterEnrollment",
    "RosterTerm",
    "LoginState",
    "LoginCode",
}
QUERY_METHODS = {"get", "scan", "query", "count", "batch_get", "batch_write", "exists", "does_not_exist"}
# Keywords only PynamoDB's item writes and reads take.
WRITE_KEYWORDS = {"actions", "condition", "add_version_condition", "consistent_read"}
NOT_YET_BEHIND_THE_SEAM: set[str] = set()


def _model_of(node: ast.expr) -> str | None:
    """`District` in `District.scan` and in `RosterUser.by_classlink_user_id.query`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) and node.id in MODELS else None


def storage_calls(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: imports {n}" for n in names if n.split(".")[0] == "pynamodb"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, keywords = node.func.attr, {k.arg for k in node.keywords if k.arg}
            if method in QUERY_METHODS and _model_of(node.func.value):
                found.append(f"line {node.lineno}: {_model_of(node.func.value)}...{method}()")
            elif method in {"update", "save", "refresh", "delete"} and keywords & WRITE_KEYWORDS:
                found.append(f"line {node.lineno}: .{method}({', '.join(sorted(keywords))})")
    return found


def test_the_detector_sees_each_kind_of_direct_storage_access() -> None:
    source = (
        "from pynamodb.exceptions import PutError\n"
        "District.get('1', consistent_read=True)\n"
        "RosterUser.by_classlink_user_id.query('1')\n"
        "district.update(actions=[], add_version_condition=False)\n"
        "stores.districts.get('1')\n"
    )
    assert len(storage_calls(source)) == 4


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_storage_is_reached_only_through_the_repositories(path: Path) -> None:
    name = str(path.relative_to(ROOT))
    found = storage_calls(path.read_text())
    if name in NOT_YET_BEHIND_THE_SEAM:
        assert found, f"{name} is behind the seam now: remove it from NOT_YET_BEHIND_THE_SEAM"
    else:
        assert not found, f"{name} reaches DynamoDB around the repositories: {found}"
