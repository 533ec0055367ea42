"""Integration tests read and write the models directly, so bind them as the handlers do."""

from __future__ import annotations

import pytest

from local_stack.stack import LocalStack
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings


@pytest.fixture(autouse=True)
def bound(stack: LocalStack) -> None:
    bind_tables(get_settings())
