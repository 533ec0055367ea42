"""Faster answers from moto server's DynamoDB, with the same bytes on the wire.

moto serializes every DynamoDB answer through a generic botocore-shape serializer that walks the
output model for each attribute of each item: about a millisecond per item returned, so a Scan
of 1,000 districts or a Query page of 3,000 roster records spends longer being serialized than
being found. After moto's own `dynamo_to_dict`, the answer of a read is already DynamoDB's JSON
(attribute values as {"S": ...}, {"N": "..."}); only binary values need base64, as the wire
format has them. So reads are written with `json.dumps` instead; every other operation keeps
moto's serializer. tests/infra/test_moto_speedups.py checks both give the same JSON.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from moto.core.responses import ActionContext
from moto.dynamodb.responses import DynamoResult

READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
CONTENT_TYPE = {"Content-Type": "application/x-amz-json-1.0"}
ORIGINAL = DynamoResult.execute_result


def _wire(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not part of DynamoDB's JSON")


def _execute_result(self: DynamoResult, context: ActionContext) -> Any:
    if context.operation_model.name in READS:
        return 200, dict(CONTENT_TYPE), json.dumps(self.result, default=_wire)
    return ORIGINAL(self, context)


def install() -> None:
    """Process-wide (moto server runs in this process); safe to call more than once."""
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign,assignment]
