"""Counting DynamoDB writes where botocore sends them: every client, PynamoDB's included,
whatever session or thread created it. Used by the sync benchmark and the sync tests, so the
figures do not come from the engine's own counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@contextmanager
def count_writes(tables: list[str]) -> Iterator[Counter[str]]:
    """Items written to the given tables (a BatchWriteItem counts its items) while the block
    runs, per table name."""
    counter: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation in WRITE_OPERATIONS:
            if operation == "BatchWriteItem":
                for table, items in params.get("RequestItems", {}).items():
                    if table in tables:
                        counter[table] += len(items)
            elif params.get("TableName") in tables:
                counter[params["TableName"]] += 1
        return original(client, operation, params)

    BaseClient._make_api_call = counting
    try:
        yield counter
    finally:
        BaseClient._make_api_call = original
