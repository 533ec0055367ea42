"""A Query of one partition that costs the page, not the table, in moto server's DynamoDB.

moto answers every Query page by listing every item of the table, keeping the partition's,
sorting them and walking from the first to the ExclusiveStartKey. Reading back a 477,890-record
partition (a 100,000-user district's enrollments) page by page took more than 14 minutes, so
the roster sync's nightly could not be measured at that size. DynamoDB itself reads a page from
the start key on.

Here a Query on a table's own key (no index), forward, with no condition on the sort key and no
legacy QueryFilter, keeps each partition's sort keys sorted between pages and starts the page by
bisection. The sort order is moto's own (string sort keys compare as Python strings: code point
order, which is UTF-8 byte order, as DynamoDB sorts). Limit, the 1 MB page size, LastEvaluatedKey,
FilterExpression and ProjectionExpression behave as in moto's path. Every other Query goes
through moto unchanged. A partition's sorted keys are dropped, and its version moves on, after
every put or delete in it (every put and delete in moto, UpdateItem, BatchWriteItem and
transactions included, goes through Table.put_item / Table.delete_item); keys sorted while a
write happened are used for that page only.
tests/infra/test_moto_partition_query.py compares the two paths page by page.
"""

from __future__ import annotations

import copy
import threading
from bisect import bisect_right
from collections import Counter
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

ORIGINAL_QUERY = Table.query
ORIGINAL_PUT = Table.put_item
ORIGINAL_DELETE = Table.delete_item
CACHE = "_smartpass_sorted_partitions"
_LOCK = threading.Lock()  # moto server answers requests on several threads


def _entries(table: Table) -> tuple[dict[Any, tuple[int, list[str], list[Any]]], Counter[Any]]:
    """The table's sorted partitions and the version of each partition's key set."""
    held = table.__dict__.get(CACHE)
    if held is None:
        with _LOCK:
            held = table.__dict__.setdefault(CACHE, ({}, Counter()))
    return held


def _sorted_keys(
    table: Table, hash_key: DynamoType, partition: dict[Any, Item]
) -> tuple[list[str], list[Any]]:
    cache, versions = _entries(table)
    with _LOCK:
        version = versions[hash_key]
        held = cache.get(hash_key)
        if held is not None and held[0] == version:
            return held[1], held[2]
    keys = list(partition)  # one snapshot of the keys (moto server answers on several threads)
    keys.sort(key=lambda key: key.value)
    values = [key.value for key in keys]
    with _LOCK:
        if versions[hash_key] == version:  # else a put or delete came meanwhile: not kept
            cache[hash_key] = (version, values, keys)
    return values, keys


def _changed(table: Table, hash_key: DynamoType) -> None:
    """After a put or delete in the partition: its sorted keys are no longer to be trusted."""
    cache, versions = _entries(table)
    with _LOCK:
        versions[hash_key] += 1
        cache.pop(hash_key, None)


def _query(
    self: Table,
    hash_key: Any,
    range_comparison: Any,
    range_objs: Any,
    limit: Any,
    exclusive_start_key: Any,
    scan_index_forward: bool,
    projection_expressions: Any,
    index_name: Any = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: Any = None,
    range_key_conditions: Any = None,
    **filter_kwargs: Any,
) -> Any:
    partition = self.items.get(hash_key) if hash_key is not None else None
    start_value = (exclusive_start_key or {}).get(self.range_key_attr or "", {}).get("S")
    start_partition = (exclusive_start_key or {}).get(self.hash_key_attr) or {}
    if (
        index_name
        or self.range_key_type != "S"
        or range_comparison
        or range_key_conditions
        or filter_kwargs
        or not scan_index_forward
        or not partition
        or (exclusive_start_key and (start_value is None or DynamoType(start_partition) != hash_key))
    ):
        return ORIGINAL_QUERY(
            self, hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
            projection_expressions, index_name=index_name, consistent_read=consistent_read,
            filter_expression=filter_expression, hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions, **filter_kwargs,
        )  # fmt: skip
    values, keys = _sorted_keys(self, hash_key, partition)
    start = bisect_right(values, start_value) if exclusive_start_key else 0
    results: list[Item] = []
    result_size = 0
    last_evaluated_key = None
    for position in range(start, len(keys)):
        item = partition.get(keys[position])
        if item is None:  # deleted since the keys were sorted
            continue
        size = item.size()
        if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
            break
        results.append(item)
        result_size += size
    scanned_count = len(results)
    if filter_expression is not None:  # on whole items, as DynamoDB filters before projecting
        results = [item for item in results if filter_expression.expr(item)]
    # project() builds new items; without it, copies, as moto hands out (never the stored ones).
    results = (
        [item.project(projection_expressions) for item in results]
        if projection_expressions
        else copy.deepcopy(results)
    )
    return results, scanned_count, last_evaluated_key


def _put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
    item = ORIGINAL_PUT(self, item_attrs, *args, **kwargs)
    if self.range_key_attr:  # a new key, or a replaced item: either way, sort again when asked
        _changed(self, item.hash_key)
    return item


def _delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None) -> Any:
    deleted = ORIGINAL_DELETE(self, hash_key, range_key)
    _changed(self, hash_key)
    return deleted


def empty_tables() -> int:
    """Every item of every DynamoDB table of this process's moto server removed at once, with
    the sorted keys kept here (the test suite's reset between tests: deleting item by item over
    HTTP took longer than the sync a test ran). Tables, indexes and streams stay as provisioned.
    Returns how many items were removed."""
    removed = 0
    for regions in dynamodb_backends.values():
        for backend in regions.values():
            for table in backend.tables.values():
                with _LOCK:
                    removed += len(table)
                    table.items.clear()
                    table.__dict__.pop(CACHE, None)
                    if table.stream_shard is not None:
                        table.stream_shard.items.clear()
    return removed


def install() -> None:
    """Process-wide; safe to call more than once."""
    Table.query = _query  # type: ignore[method-assign]
    Table.put_item = _put_item  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]
