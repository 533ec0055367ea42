"""Faster answers from moto server's DynamoDB, with the same JSON on the wire.

moto serializes every DynamoDB answer through a generic botocore-shape serializer that walks the
output model for each attribute of each item: about a millisecond per item returned, so a Scan
of 1,000 districts or a Query page of 3,000 roster records spends longer being serialized than
being found, and an UpdateItem that returns the new item (PynamoDB's default) pays the same. After
moto's own `dynamo_to_dict`, the answer of an item operation is already DynamoDB's JSON
(attribute values as {"S": ...}, {"N": "..."}); only binary values need base64, as the wire
format has them. So those answers are written with `json.dumps` instead; every other operation
keeps moto's serializer, and errors never reach this path. tests/infra/test_moto_speedups.py
checks both give the same JSON for each operation listed here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from moto.core.responses import ActionContext
from moto.dynamodb.responses import DynamoResult

FAST = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem"})
CONTENT_TYPE = {"Content-Type": "application/x-amz-json-1.0"}
ORIGINAL = DynamoResult.execute_result


def _wire(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not part of DynamoDB's JSON")


def _execute_result(self: DynamoResult, context: ActionContext) -> Any:
    if context.operation_model.name in FAST:
        # moto's result may carry keys the API does not have (ConsumedCapacityUnits on writes);
        # its serializer drops them by the output shape, and so do we, at the top level.
        members = context.operation_model.output_shape.members
        answer: dict[str, Any] = self.result  # type: ignore[assignment]
        result = {k: v for k, v in answer.items() if k in members}
        return 200, dict(CONTENT_TYPE), json.dumps(result, default=_wire)
    return ORIGINAL(self, context)


def install() -> None:
    """Process-wide (moto server runs in this process); safe to call more than once."""
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign,assignment]
