"""Shared model plumbing: table names are bound from Settings at start, connections are lazy.

PynamoDB creates its botocore connection on first use and honours AWS_ENDPOINT_URL when `host`
is left unset, so the same models reach moto server locally and DynamoDB in AWS.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from smartpass.data.pynamodb_internals import SharedSession, forget_connection


def utcnow() -> datetime:
    return datetime.now(UTC)


def plain_map(value: Any) -> dict[str, Any]:
    """A raw PynamoDB MapAttribute (or None, or a dict) as a plain dict."""
    if value is None:
        return {}
    return dict(value.as_dict()) if hasattr(value, "as_dict") else dict(value)


class BoundModel(SharedSession):
    """A model whose table name is set by `bind_tables`, never hard-coded."""

    class Meta:
        table_name = "unbound"

    @classmethod
    def bind(cls, table_name: str) -> None:
        cls.Meta.table_name = table_name
        forget_connection(cls)  # one made for another table or endpoint (tests, stack restarts)
