"""Login states and one-time login codes (smartpass.data.login): the repositories the SSO is
handed. What makes a state or a code usable (once, before it expires) is the domain's, said as
expectations (smartpass.data.changes); each repository writes it in one conditional request.
"""

from __future__ import annotations

from typing import Protocol

from pynamodb.exceptions import PutError, UpdateError

from smartpass.data import changes as wire
from smartpass.data.changes import Changes, Expectations
from smartpass.data.login import LoginCode, LoginState


class LoginStateRepository(Protocol):
    def add(self, state: LoginState) -> bool:
        """Store a new login state; False when one with its `state` exists already."""

    def update(self, state: str, changes: Changes, expect: Expectations = ()) -> LoginState | None:
        """Write `changes` to the login state `state` in one UpdateItem and return the whole item as
        written; None, with nothing written, when an expectation does not hold (a state never
        stored has none of its attributes, so `present("state")` fails for it)."""


class LoginCodeRepository(Protocol):
    def add(self, code: LoginCode) -> None: ...

    def get(self, code_hash: str) -> LoginCode | None:
        """The code as last written (a consistent read), or None."""

    def update(self, code: LoginCode, changes: Changes, expect: Expectations = ()) -> bool:
        """Write `changes` (and update the object); False, with nothing written, when an
        expectation does not hold."""


class DynamoLoginStates:
    def add(self, state: LoginState) -> bool:
        try:
            state.save(condition=LoginState.state.does_not_exist())
        except PutError as exc:
            if wire.condition_failed(exc):
                return False
            raise
        return True

    def update(self, state: str, changes: Changes, expect: Expectations = ()) -> LoginState | None:
        item = LoginState(state=state)
        try:
            item.update(
                actions=wire.actions(LoginState, changes), condition=wire.condition(LoginState, expect)
            )
        except UpdateError as exc:
            if expect and wire.condition_failed(exc):
                return None
            raise
        return item  # PynamoDB reads the whole item back from the update (ALL_NEW)


class DynamoLoginCodes:
    def add(self, code: LoginCode) -> None:
        code.save()

    def get(self, code_hash: str) -> LoginCode | None:
        try:
            return LoginCode.get(code_hash, consistent_read=True)
        except LoginCode.DoesNotExist:
            return None

    def update(self, code: LoginCode, changes: Changes, expect: Expectations = ()) -> bool:
        try:
            code.update(actions=wire.actions(LoginCode, changes), condition=wire.condition(LoginCode, expect))
        except UpdateError as exc:
            if expect and wire.condition_failed(exc):
                return False
            raise
        return True
