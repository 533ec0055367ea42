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

from smartpass.data.districts import District
from smartpass.data.login import LoginCode, LoginState
from smartpass.data.pynamodb_internals import open_connection
from smartpass.data.roster import RosterUser
from smartpass.data.tables import bind_tables
from smartpass.settings import Settings
from sso_callback.services import oidc

try:
    from snapshot_restore_py import register_after_restore
except ImportError:  # not the Lambda runtime: no snapshot is ever taken or restored

    def register_after_restore(hook: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        return None


def prime(settings: Settings) -> None:
    """At init (and again after a restore): the ClassLink client and its HTTP session, and the
    DynamoDB client a sign-in's first request would make. Nothing is sent anywhere."""
    oidc()
    for model in (District, RosterUser, LoginState, LoginCode):
        open_connection(model)


def renew(settings: Settings) -> None:
    """In a copy restored from the snapshot, before its first request."""
    oidc.cache_clear()
    parameters.clear_caches()
    bind_tables(settings)  # each model drops the snapshot's connection...
    prime(settings)  # ...and new ones are made before the first request


def install(settings: Settings) -> None:
    prime(settings)
    register_after_restore(renew, settings)
