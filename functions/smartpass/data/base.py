"""Shared model plumbing: table names are bound from Settings at start, connections are lazy.

PynamoDB creates its botocore connection on first use and honours AWS_ENDPOINT_URL when `host`
is left unset, so the same models reach moto server locally and DynamoDB in AWS.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.models import Model


def utcnow() -> datetime:
    return datetime.now(UTC)


class BoundModel(Model):
    """A model whose table name is set by `bind_tables`, never hard-coded."""

    class Meta:
        table_name = "unbound"

    @classmethod
    def bind(cls, table_name: str) -> None:
        cls.Meta.table_name = table_name
        # Drop a connection made for another table or endpoint (tests, local stack restarts).
        cls._connection = None
