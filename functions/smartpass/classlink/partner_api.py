"""ClassLink Partner API: which tenants shared data with our Roster Server app.

classlink-facts.md C3: `GET /applications` with the partner API key as Bearer lists one row per
district; `tenant_id` is an integer, `enabled` the string "true"/"false", and there are no count
headers, so paging stops on a short page.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smartpass.classlink.http import DEFAULT_TIMEOUT, ClassLinkError, get_json_object, new_session

PAGE_SIZE = 10_000


class ApplicationRow(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tenant_id: str
    tenant_name: str = ""
    enabled: bool
    tenant_status: str = ""
    oneroster_application_id: str = Field(min_length=1)
    bearer: str | None = None

    @field_validator("tenant_id", mode="before")
    @classmethod
    def _tenant_id_as_string(cls, value: object) -> str:
        # Integer on the wire; SSO's my/info TenantId is an integer too. Keys are strings.
        if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
            raise ValueError("tenant_id must be an integer or a non-empty string")
        return str(value).strip()

    @field_validator("enabled", mode="before")
    @classmethod
    def _enabled_string(cls, value: object) -> bool:
        if value in ("true", True):
            return True
        if value in ("false", False):
            return False
        raise ValueError('enabled must be "true" or "false"')

    @property
    def is_live(self) -> bool:
        """Shared and switched on by the district (code.org's rule, classlink-facts C2)."""
        return self.enabled and self.tenant_status == "Active"


class DirectServer(BaseModel):
    """`/applications/{id}/server`: how to reach the district's own Roster Server (OAuth1).
    ClassLink's documented sample shows an empty `client_secret`, so it may be missing."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    endpoint_url: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.client_id and self.client_secret and self.endpoint_url)


class PartnerApiClient:
    def __init__(self, base_url: str, api_key: str, session: requests.Session | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session or new_session()

    def applications(self) -> Iterator[ApplicationRow | ValidationError]:
        """Every row; a row that does not parse is yielded as its error so one bad row
        neither hides the others nor gets mistaken for a district that left."""
        offset = 0
        while True:
            page = self._get_page(offset)
            for raw in page:
                try:
                    yield ApplicationRow.model_validate(raw)
                except ValidationError as exc:
                    yield exc
            if len(page) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def server(self, oneroster_application_id: str) -> DirectServer:
        """The district's direct OneRoster endpoint and OAuth1 key (classlink-facts C3). The id
        is already percent-escaped by ClassLink and goes into the path verbatim."""
        body = self._get(f"/applications/{oneroster_application_id}/server", {})
        server = body.get("server")
        if not isinstance(server, dict):
            raise ClassLinkError("Partner API /applications/{id}/server returned no server object")
        try:
            return DirectServer.model_validate(server)
        except ValidationError:
            raise ClassLinkError(
                "Partner API /applications/{id}/server returned a malformed server"
            ) from None

    def _get(self, path: str, params: dict[str, int]) -> dict[str, object]:
        # The path is named generically in errors: an application id is not for log lines.
        name = "/applications/{id}/server" if path.endswith("/server") else path
        return get_json_object(
            self._session,
            f"{self._base_url}{path}",
            f"Partner API {name}",
            params=params,
            headers={"Authorization": f"Bearer {self._api_key}"},
            timeout=DEFAULT_TIMEOUT,
        )

    def _get_page(self, offset: int) -> list[object]:
        body = self._get("/applications", {"limit": PAGE_SIZE, "offset": offset})
        rows = body.get("applications")
        if not isinstance(rows, list):
            raise ClassLinkError("Partner API /applications returned no applications array")
        return rows
