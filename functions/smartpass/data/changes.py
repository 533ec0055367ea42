"""How the domain says what to write and on what condition, without PynamoDB.

A change is `{attribute name: new value}`: `None` removes the attribute, `Increment(n)` adds n.
An expectation is one `Expect`; a list of them must all hold (a conditional write), else the
repository reports that the write did not happen. The DynamoDB repositories translate both into
PynamoDB actions and conditions; the in-memory fakes of the tests apply them to the item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model


@dataclass(frozen=True)
class Increment:
    by: int | float = 1


Operator = Literal["==", "!=", "<", ">", "exists", "absent"]


@dataclass(frozen=True)
class Expect:
    attribute: str
    op: Operator
    value: Any = None


Changes = Mapping[str, Any]
Expectations = Sequence[Expect]


def equals(attribute: str, value: Any) -> Expect:
    """`attribute == value`; with None, that the attribute is absent."""
    return Expect(attribute, "==", value) if value is not None else Expect(attribute, "absent")


def differs(attribute: str, value: Any) -> Expect:
    return Expect(attribute, "!=", value)


def greater(attribute: str, value: Any) -> Expect:
    """`attribute > value` (a missing attribute is greater than nothing)."""
    return Expect(attribute, ">", value)


def absent(attribute: str) -> Expect:
    return Expect(attribute, "absent")


def present(attribute: str) -> Expect:
    return Expect(attribute, "exists")


def actions(model: type[Model], changes: Changes) -> list[Action]:
    result: list[Action] = []
    for name, value in changes.items():
        attribute = getattr(model, name)
        if value is None:
            result.append(attribute.remove())
        elif isinstance(value, Increment):
            result.append(attribute.add(value.by))
        else:
            result.append(attribute.set(value))
    return result


def condition(model: type[Model], expectations: Expectations) -> Condition | None:
    combined: Condition | None = None
    for expect in expectations:
        attribute = getattr(model, expect.attribute)
        term: Condition
        if expect.op == "exists":
            term = attribute.exists()
        elif expect.op == "absent":
            term = attribute.does_not_exist()
        elif expect.op == "==":
            term = attribute == expect.value
        elif expect.op == "!=":
            term = attribute != expect.value
        elif expect.op == "<":
            term = attribute < expect.value
        else:
            term = attribute > expect.value
        combined = term if combined is None else combined & term
    return combined


def condition_failed(exc: PutError | UpdateError) -> bool:
    """The write was refused because its condition did not hold (nothing was written)."""
    return exc.cause_response_code == "ConditionalCheckFailedException"
