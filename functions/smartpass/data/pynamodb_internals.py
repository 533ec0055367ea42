"""Every use of PynamoDB's private internals, in one module, checked against the versions in
CHECKED_VERSIONS (tests/unit/test_pynamodb_internals.py fails on any other installed version, so
an upgrade is a decision to read this file again, not a surprise in production).

- `SharedSession`: PynamoDB gives every model class a botocore session of its own, and each
  session loads DynamoDB's service model again: about 10 MB per model class, 80 MB for ours. One
  shared session loads it once (botocore clients made from it are thread-safe). It reaches into
  `Model._get_connection` and the connection's per-thread `_local`.
- `forget_connection`: a model bound to another table drops its cached `_connection`.
- `open_connection`: a model's botocore client made ahead of its first request (SnapStart's init).
- `model_connection`: the model's low-level Connection, which PynamoDB's TransactWrite takes.
- `table_connection`: the model's TableConnection, for the low-level projected Query the sync uses
  to read a partition's (sourcedId, hash, active) without building model objects.
- `wire_key` and `dispatch`: a key in DynamoDB's JSON and a raw call (BatchGetItem across two
  tables, which PynamoDB's `batch_get` cannot do).
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from pynamodb.connection import Connection, TableConnection
from pynamodb.models import Model

CHECKED_VERSIONS = frozenset({"6.1.0"})


@functools.cache
def _shared_botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


class SharedSession(Model):
    """A model base whose connections share one botocore session (see the module's note)."""

    @classmethod
    def _get_connection(cls) -> Any:
        connection = super()._get_connection()
        local = connection.connection._local
        if getattr(local, "session", None) is None:
            local.session = _shared_botocore_session()
        return connection


def forget_connection(model: type[Model]) -> None:
    """Drop a connection made for another table or endpoint (a model bound again)."""
    model._connection = None


def open_connection(model: type[Model]) -> None:
    """The model's botocore client made now (no request is sent): what a first request would make."""
    _ = model._get_connection().connection.client


def model_connection(model: type[Model]) -> Connection:
    return model._get_connection().connection


def table_connection(model: type[Model]) -> TableConnection:
    return model._get_connection()


def wire_key(model: type[Model], table: str, hash_key: str, range_key: str | None) -> dict[str, Any]:
    connection = model._get_connection().connection
    return dict(connection.get_identifier_map(table, hash_key, range_key)["Key"])


def dispatch(model: type[Model], operation: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = model._get_connection().connection.dispatch(operation, payload)
    return answer
