"""Lambda SnapStart for the SSO function (docs/decisions.md, "SSO cold start"): the function is
published with SnapStart, its init (this module's `prime`) does what a first sign-in would
otherwise do on the clock, and `renew` runs in every copy restored from the snapshot, for what
must not be shared between copies or outlive the snapshot.

What is renewed: the ClassLink OIDC client (its HTTP connections are the snapshot's, and its key
and discovery caches are timed with a monotonic clock that a restore does not carry over), the
Powertools parameter caches (a secret rotated since the snapshot is read again) and the PynamoDB
connections (their sockets). Nothing random is made at init: the state, nonce, PKCE verifier,
login codes and session ids come from `secrets` at sign-in time, never from a seeded generator.

`snapshot_restore_py` is part of Lambda's Python managed runtime; elsewhere (the local stack, the
tests) nothing is snapshotted, and `renew` is called by the tests themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities import parameters

from smartpass.data.tables import bind_tables
from smartpass.settings import Settings
from sso_callback.services import oidc

try:
    from snapshot_restore_py import register_after_restore
except ImportError:  # not the Lambda runtime: no snapshot is ever taken or restored

    def register_after_restore(hook: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        return None


def prime(settings: Settings) -> None:
    """At init: the ClassLink client and its HTTP session, made before the first sign-in."""
    oidc()


def renew(settings: Settings) -> None:
    """In a copy restored from the snapshot, before its first request."""
    oidc.cache_clear()
    parameters.clear_caches()
    bind_tables(settings)  # each model drops its connection; a new one is made on first use
    oidc()


def install(settings: Settings) -> None:
    prime(settings)
    register_after_restore(renew, settings)
