"""Fixtures of the sandbox tier."""

from __future__ import annotations

from typing import Any

import pytest
import requests


@pytest.fixture
def get(tenant_info: dict[str, Any]) -> Any:
    def call(path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{tenant_info['proxy_base_url']}{path}",
            params=params,
            timeout=10,
            headers={"Authorization": f"Bearer {tenant_info['bearer']}"},
        )

    return call
