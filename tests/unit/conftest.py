"""The unit tier: rules on in-memory fakes and pure functions. No test here may open a socket
(no moto server, no sandbox, no DNS): pytest-socket refuses it, so a test that quietly needs the
network fails here instead of passing slowly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    disable_socket(allow_unix_socket=False)
    yield
    enable_socket()
