"""Shared model plumbing: table names are bound from Settings at start, connections are lazy.

PynamoDB creates its botocore connection on first use and honours AWS_ENDPOINT_URL when `host`
is left unset, so the same models reach moto server locally and DynamoDB in AWS.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import botocore.session
from pynamodb.models import Model


def utcnow() -> datetime:
    return datetime.now(UTC)


def plain_map(value: Any) -> dict[str, Any]:
    """A raw PynamoDB MapAttribute (or None, or a dict) as a plain dict."""
    if value is None:
        return {}
    return dict(value.as_dict()) if hasattr(value, "as_dict") else dict(value)


@functools.cache
def _shared_botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


class BoundModel(Model):
    """A model whose table name is set by `bind_tables`, never hard-coded."""

    class Meta:
        table_name = "unbound"

    @classmethod
    def _get_connection(cls) -> Any:
        # PynamoDB gives every model class a botocore session of its own, and each session
        # loads DynamoDB's service model again: about 10 MB per model class, 80 MB for ours.
        # One shared session loads it once (botocore clients made from it are thread-safe).
        connection = super()._get_connection()
        local = connection.connection._local
        if getattr(local, "session", None) is None:
            local.session = _shared_botocore_session()
        return connection

    @classmethod
    def bind(cls, table_name: str) -> None:
        cls.Meta.table_name = table_name
        # Drop a connection made for another table or endpoint (tests, local stack restarts).
        cls._connection = None
