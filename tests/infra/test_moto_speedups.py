"""The local stack's fast path for moto's DynamoDB answers exactly what moto's own serializer
would: every fast-path operation on a varied item, compared JSON to JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.responses import ActionContext
from moto.dynamodb.responses import DynamoResult

from local_stack import moto_speedups
from local_stack.stack import LocalStack

TABLE_SPEC: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
ITEM = {
    "n": {"N": "1.50"},
    "m": {"M": {"x": {"L": [{"S": "García O'Brien 李"}, {"NULL": True}, {"BOOL": False}]}}},
    "ss": {"SS": ["b", "a"]},
    "ns": {"NS": ["1", "2"]},
    "bin": {"B": b"\x00\x01\xff"},
    "bs": {"BS": [b"\x02"]},
}


@pytest.fixture
def answers(stack: LocalStack) -> Iterator[list[tuple[str, str, str]]]:
    """(operation, what the fast path sent, what moto's serializer makes of the same result)."""
    seen: list[tuple[str, str, str]] = []
    installed = DynamoResult.execute_result

    def spy(self: DynamoResult, context: ActionContext) -> Any:
        status, headers, body = installed(self, context)
        if context.operation_model.name in moto_speedups.FAST:
            assert (status, headers) == (200, moto_speedups.CONTENT_TYPE)
            seen.append((context.operation_model.name, body, moto_speedups.ORIGINAL(self, context)[2]))
        return status, headers, body

    DynamoResult.execute_result = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        DynamoResult.execute_result = installed  # type: ignore[method-assign]


def test_item_operations_answer_what_motos_serializer_would(stack: LocalStack, answers: list[Any]) -> None:
    dynamodb = stack.client("dynamodb")
    dynamodb.create_table(TableName="speedups-check", **TABLE_SPEC)
    try:
        for i in range(3):
            item = {"pk": {"S": "a"}, "sk": {"S": str(i)}, **ITEM}
            dynamodb.put_item(TableName="speedups-check", Item=item)
        scanned = dynamodb.scan(TableName="speedups-check")
        paged = dynamodb.query(
            TableName="speedups-check",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Limit=2,
        )
        found = dynamodb.get_item(TableName="speedups-check", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})
        dynamodb.get_item(TableName="speedups-check", Key={"pk": {"S": "none"}, "sk": {"S": "1"}})
        dynamodb.batch_get_item(
            RequestItems={"speedups-check": {"Keys": [{"pk": {"S": "a"}, "sk": {"S": "2"}}]}}
        )
        dynamodb.scan(TableName="speedups-check", Select="COUNT")
        key = {"pk": {"S": "a"}, "sk": {"S": "0"}}
        dynamodb.put_item(
            TableName="speedups-check", Item={**key, **ITEM, "n": {"N": "2"}}, ReturnValues="ALL_OLD"
        )
        updated = dynamodb.update_item(
            TableName="speedups-check",
            Key=key,
            UpdateExpression="SET n = n + :one, #s = :s",
            ExpressionAttributeNames={"#s": "s"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "李"}},
            ReturnValues="ALL_NEW",
        )
        dynamodb.update_item(
            TableName="speedups-check",
            Key=key,
            UpdateExpression="REMOVE ss",
            ReturnValues="UPDATED_OLD",
        )
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):  # never fast-pathed
            dynamodb.update_item(
                TableName="speedups-check",
                Key=key,
                UpdateExpression="SET n = :one",
                ConditionExpression="attribute_not_exists(pk)",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        dynamodb.batch_write_item(
            RequestItems={"speedups-check": [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": "0"}}}}]}
        )
        dynamodb.delete_item(TableName="speedups-check", Key=key, ReturnValues="ALL_OLD")
    finally:
        dynamodb.delete_table(TableName="speedups-check")
    reads = ["Scan", "Query", "GetItem", "GetItem", "BatchGetItem", "Scan"]
    writes = ["PutItem", "UpdateItem", "UpdateItem", "DeleteItem"]  # BatchWriteItem answers elsewhere
    assert [name for name, _, _ in answers] == ["PutItem"] * 3 + reads + writes
    for _, fast, moto in answers:
        assert json.loads(fast) == json.loads(moto)
    # ...and botocore reads them back as sent (binary included).
    assert scanned["Count"] == 3 and found["Item"]["bin"] == {"B": b"\x00\x01\xff"}
    assert paged["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"S": "1"}}
    assert updated["Attributes"]["n"] == {"N": "3"} and updated["Attributes"]["bin"] == {"B": b"\x00\x01\xff"}
