"""A district's history (DistrictEvent items): the repository the domain is handed."""

from __future__ import annotations

from typing import Protocol

from smartpass.data.district_history import DistrictEvent


class HistoryRepository(Protocol):
    def add(self, event: DistrictEvent) -> None: ...

    def newest(self, tenant_id: str, limit: int) -> list[DistrictEvent]:
        """The district's latest events, newest first."""

    def after(self, tenant_id: str, event_id: str) -> list[DistrictEvent]:
        """The district's events after `event_id`, oldest first."""

    def all(self) -> list[DistrictEvent]:
        """Every event of every district (an eventually consistent scan: for the local stack's
        story, never for a deployed stack's hot path)."""


class DynamoHistory:
    def add(self, event: DistrictEvent) -> None:
        event.save()

    def newest(self, tenant_id: str, limit: int) -> list[DistrictEvent]:
        return list(
            DistrictEvent.query(tenant_id, scan_index_forward=False, limit=limit, consistent_read=True)
        )

    def after(self, tenant_id: str, event_id: str) -> list[DistrictEvent]:
        return list(DistrictEvent.query(tenant_id, DistrictEvent.event_id > event_id, consistent_read=True))

    def all(self) -> list[DistrictEvent]:
        return list(DistrictEvent.scan())
