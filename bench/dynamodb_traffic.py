"""Counting DynamoDB requests where botocore sends them, for the fleet benchmark: calls per
operation, items written, items read, and the size of what was read (DynamoDB's item-size rules),
whatever session or thread made the client. The sync benchmark's write count is sdk_writes.py."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

from bench.sdk_writes import WRITE_OPERATIONS

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it for capacity, from its wire JSON ({"name": {"S": ...}}):
    each attribute's name plus its value (strings and binary by length, numbers about one byte per
    two digits plus one, maps and lists their contents plus 3 bytes, booleans and nulls 1 byte)."""
    return sum(len(name.encode()) + _wire_value_bytes(typed) for name, typed in item.items())


def _wire_value_bytes(typed: dict[str, Any]) -> int:
    (kind, value), *_ = typed.items()
    if kind in ("S", "B"):
        return len(value.encode() if isinstance(value, str) else value)
    if kind == "N":
        return len(value) // 2 + 2
    if kind == "M":
        return 3 + sum(len(k.encode()) + _wire_value_bytes(v) for k, v in value.items())
    if kind == "L":
        return 3 + sum(_wire_value_bytes(v) for v in value)
    if kind in ("SS", "NS", "BS"):
        return sum(len(v) for v in value)
    return 1


@contextmanager
def count_dynamodb() -> Iterator[Counter[str]]:
    """While the block runs: `calls:<Operation>`, `items_written`, `items_read` and
    `bytes_read` (items as returned: a projected Query returns less than the item, while
    DynamoDB charges the whole item, so read units are modelled from the stored items' size)."""
    counter: Counter[str] = Counter()
    lock = threading.Lock()
    original = BaseClient._make_api_call

    def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        response = original(client, operation, params)
        if client.meta.service_model.service_name != "dynamodb":
            return response
        written = read = size = 0
        if operation == "BatchWriteItem":
            unprocessed = response.get("UnprocessedItems", {})
            written = sum(len(v) for v in params.get("RequestItems", {}).values())
            written -= sum(len(v) for v in unprocessed.values())
        elif operation in WRITE_OPERATIONS:
            written = len(params.get("TransactItems", [])) or 1
        elif operation in READ_OPERATIONS:
            items = response.get("Items") or ([response["Item"]] if response.get("Item") else [])
            items = items + [i for rows in response.get("Responses", {}).values() for i in rows]
            read, size = len(items), sum(item_bytes(i) for i in items)
        with lock:
            counter[f"calls:{operation}"] += 1
            counter["items_written"] += written
            counter["items_read"] += read
            counter["bytes_read"] += size
        return response

    BaseClient._make_api_call = counting
    try:
        yield counter
    finally:
        BaseClient._make_api_call = original
