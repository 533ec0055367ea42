"""The local stack's partition Query answers page for page what moto's own Query answers: the
same items, counts and LastEvaluatedKey, with projections, filters, the 1 MB page limit, a start
key that was deleted meanwhile and items added between pages; queries it does not handle still
go through moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from local_stack import moto_partition_query
from local_stack.stack import LocalStack

TABLE = "partition-query-check"
SPEC: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
# Sort keys whose order differs between naive and code-point orderings only if done wrong.
ODD_KEYS = ["García", "O'Brien", "李", "Zoë", "a", "Z", "é", "~", "0", "S-10", "S-9", "S-1", "s-1"]


@pytest.fixture
def client(stack: LocalStack) -> Iterator[Any]:
    dynamodb = stack.client("dynamodb")
    dynamodb.create_table(TableName=TABLE, **SPEC)
    keys = ODD_KEYS + [f"S-{n:04d}" for n in range(0, 400, 3)]
    for n, sk in enumerate(keys):
        for pk in ("district-a", "district-b"):
            item = {
                "pk": {"S": pk},
                "sk": {"S": sk},
                "n": {"N": str(n)},
                "tag": {"S": "odd" if n % 2 else "even"},
            }
            dynamodb.put_item(TableName=TABLE, Item=item)
    try:
        yield dynamodb
    finally:
        dynamodb.delete_table(TableName=TABLE)


def moto_table() -> Table:
    backend = dynamodb_backends["123456789012"]["us-east-1"]
    return backend.tables[TABLE]


def sorted_partitions() -> list[str]:
    """The partitions whose sorted keys the local stack's path holds now."""
    cache, _ = moto_partition_query._entries(moto_table())
    return [key.value for key in cache]


def pages(client: Any, between: Any = None, **query: Any) -> list[dict[str, Any]]:
    start = query.pop("ExclusiveStartKey", None)
    values = {":pk": {"S": "district-a"}, **query.pop("values", {})}
    request = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :pk",
        **query,
        "ExpressionAttributeValues": values,
    }
    answers: list[dict[str, Any]] = []
    while True:
        answer = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        answer.pop("ResponseMetadata")
        answers.append(answer)
        start = answer.get("LastEvaluatedKey")
        if not start:
            return answers
        if between:
            between(answers)


def both(client: Any, setup: Any = None, between: Any = None, **query: Any) -> tuple[list[Any], list[Any]]:
    """The pages through the local stack's path, then through moto's own on the same data."""
    if setup:
        setup()
    fast = pages(client, between, **dict(query))
    installed = Table.query
    Table.query = moto_partition_query.ORIGINAL_QUERY  # type: ignore[method-assign]
    try:
        if setup:
            setup()
        slow = pages(client, between, **dict(query))
    finally:
        Table.query = installed  # type: ignore[method-assign]
    return fast, slow


def test_pages_match_moto_and_the_fast_path_is_taken(client: Any) -> None:
    fast, slow = both(client, Limit=7)
    assert fast == slow and len(fast) > 10
    assert [item["sk"]["S"] for page in fast for item in page["Items"]] == sorted(
        ODD_KEYS + [f"S-{n:04d}" for n in range(0, 400, 3)]
    )
    assert sorted_partitions() == ["district-a"]


def test_projection_and_filter_match_moto(client: Any) -> None:
    fast, slow = both(
        client,
        Limit=11,
        ProjectionExpression="sk, #n",
        ExpressionAttributeNames={"#n": "n", "#t": "tag"},
        FilterExpression="#t = :odd",
        values={":odd": {"S": "odd"}},
    )
    assert fast == slow
    assert all(set(item) == {"sk", "n"} for page in fast for item in page["Items"])
    assert sum(page["ScannedCount"] for page in fast) > sum(page["Count"] for page in fast)


def test_the_one_megabyte_page_limit_matches_moto(client: Any) -> None:
    for n in range(30):
        client.put_item(
            TableName=TABLE,
            Item={"pk": {"S": "district-a"}, "sk": {"S": f"big-{n:02d}"}, "blob": {"S": "x" * 100_000}},
        )
    fast, slow = both(client)
    assert fast == slow and len(fast) >= 3


def test_a_deleted_start_key_and_items_added_between_pages_match_moto(client: Any) -> None:
    removed: list[dict[str, Any]] = []

    def setup() -> None:  # the same data for each path
        for item in removed:
            client.put_item(TableName=TABLE, Item=item)
        client.delete_item(TableName=TABLE, Key={"pk": {"S": "district-a"}, "sk": {"S": "zz-late"}})

    def between(answers: list[dict[str, Any]]) -> None:
        if len(answers) == 2:  # the next page's start key disappears; a later key appears
            key = answers[-1]["LastEvaluatedKey"]
            removed[:] = [client.get_item(TableName=TABLE, Key=key)["Item"]]
            client.delete_item(TableName=TABLE, Key=key)
            client.put_item(TableName=TABLE, Item={"pk": {"S": "district-a"}, "sk": {"S": "zz-late"}})

    fast, slow = both(client, setup, between, Limit=3)
    assert fast == slow
    assert removed and fast[1]["Items"][-1] == removed[0]
    assert {"S": "zz-late"} in [item["sk"] for page in fast[2:] for item in page["Items"]]
    assert fast[2]["Items"][0]["sk"]["S"] > removed[0]["sk"]["S"]


@pytest.mark.parametrize(
    "query",
    [
        {"ScanIndexForward": False, "Limit": 9},
        {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :s)",
            "values": {":s": {"S": "S-"}},
            "Limit": 9,
        },
        {"ExclusiveStartKey": {"pk": {"S": "district-b"}, "sk": {"S": "S-0003"}}, "Limit": 9},
    ],
    ids=["backwards", "sort-key-condition", "start-key-of-another-partition"],
)
def test_queries_it_does_not_handle_go_through_moto(client: Any, query: dict[str, Any]) -> None:
    fast, slow = both(client, **query)
    assert fast == slow
    assert len(fast) > 2 or "ExclusiveStartKey" in query  # moto answers nothing after a later partition
    assert sorted_partitions() == []


def test_items_added_by_every_kind_of_write_are_found(client: Any) -> None:
    def key(sk: str) -> dict[str, Any]:
        return {"pk": {"S": "district-a"}, "sk": {"S": sk}}

    before = pages(client, Limit=50)
    assert sorted_partitions() == ["district-a"]  # sorted once, kept
    client.update_item(
        TableName=TABLE,
        Key=key("new-by-update"),
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )
    client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": key("new-by-batch")}}]})
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": TABLE, "Item": key("new-by-transaction")}}]
    )
    client.batch_write_item(RequestItems={TABLE: [{"DeleteRequest": {"Key": key("S-0003")}}]})
    fast, slow = both(client, Limit=50)
    assert fast == slow
    found = {item["sk"]["S"] for page in fast for item in page["Items"]}
    assert {"new-by-update", "new-by-batch", "new-by-transaction"} <= found and "S-0003" not in found
    assert sum(page["Count"] for page in fast) == sum(page["Count"] for page in before) + 2
