"""How a OneRoster server shapes its pages: a setting of the server, not a fault.

A server may cap a page below the `limit` asked for (issue 17: a ClassLink answered 500 rows to
`limit=10000`, with a correct `x-count`), send the OneRoster `Link` header (B3: next, last, first
and prev are defined by the standard; ClassLink's live captures do not show it, so it is off by
default), and may leave out `x-total-count`. These are lasting properties of a server, so they
are settings (the World's default, and a tenant's own) rather than faults: a fault is taken once
per request and only one applies, while a capped page must still combine with any fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

ALL = "*"


@dataclass(frozen=True)
class Paging:
    # endpoint name (users, students, enrollments, ...) or "*" -> the most rows a page holds
    page_cap: Mapping[str, int] = field(default_factory=dict)
    link_headers: bool = False
    total_count: bool = True

    def cap_for(self, endpoint: str) -> int | None:
        return self.page_cap.get(endpoint, self.page_cap.get(ALL))

    def as_json(self) -> dict[str, Any]:
        return {
            "page_cap": dict(self.page_cap),
            "link_headers": self.link_headers,
            "total_count": self.total_count,
        }

    @classmethod
    def from_json(cls, body: Any) -> Paging:
        """The admin API's body. Keys left out take their defaults (no cap, no Link header, a
        total sent); `page_cap` is a number (every endpoint) or {endpoint or "*": rows}."""
        if not isinstance(body, dict):
            raise ValueError("paging must be a JSON object")
        unknown = sorted(set(body) - {"page_cap", "link_headers", "total_count"})
        if unknown:
            raise ValueError(f"unknown paging keys {unknown}: page_cap, link_headers, total_count")
        raw_cap = body.get("page_cap")
        caps = {ALL: raw_cap} if isinstance(raw_cap, int) and not isinstance(raw_cap, bool) else raw_cap
        caps = {} if caps is None else caps
        if not isinstance(caps, dict) or not all(
            isinstance(rows, int) and not isinstance(rows, bool) and rows >= 1 for rows in caps.values()
        ):
            raise ValueError('page_cap must be a whole number >= 1 or {"<endpoint or *>": rows}')
        flags = {
            name: body.get(name, default)
            for name, default in (("link_headers", False), ("total_count", True))
        }
        if not all(isinstance(value, bool) for value in flags.values()):
            raise ValueError("link_headers and total_count must be true or false")
        return cls(page_cap=dict(caps), **flags)


def page_headers(
    paging: Paging,
    *,
    url: str,
    params: Mapping[str, str],
    offset: int,
    limit: int,
    rows: int,
    total: int,
    perm_rev: int,
) -> dict[str, str]:
    """A page's headers, lowercase as ClassLink sends them (B3): `x-count` (rows in this page),
    `x-total-count` unless the server leaves it out, `x-perm-rev`, and the `Link` header when on.

    `limit` is the page size the server used (the limit asked for, capped); `offset` where this
    page started; `total` what the server believes the collection holds."""
    headers = {"x-count": str(rows), "x-perm-rev": str(perm_rev)}
    if paging.total_count:
        headers["x-total-count"] = str(total)
    if paging.link_headers:
        headers["Link"] = link_header(url, params, offset=offset, limit=limit, rows=rows, total=total)
    return headers


def link_header(
    url: str, params: Mapping[str, str], *, offset: int, limit: int, rows: int, total: int
) -> str:
    """The OneRoster 1.1 `Link` header (RFC 8288 form, as the standard's example writes it):
    `next` is where the rows that arrived end, absent on the last page (or a page with no rows,
    which could only point at itself); `last` is the start of the final page when paging from 0
    by this page size; `first` is offset 0; `prev` is one page back, absent on the first page.
    Each link keeps the request's other parameters and the limit asked for."""

    def at(position: int) -> str:
        return f"<{url}?{urlencode({**params, 'offset': str(position)})}>"

    step = max(limit, 1)
    links = []
    if rows and offset + rows < total:
        links.append(f'{at(offset + rows)}; rel="next"')
    links.append(f'{at((max(total, 1) - 1) // step * step)}; rel="last"')
    links.append(f'{at(0)}; rel="first"')
    if offset > 0:
        links.append(f'{at(max(0, offset - step))}; rel="prev"')
    return ", ".join(links)
