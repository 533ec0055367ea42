"""Run ids as the tables show them, and back.

A run id is `<queued at, to the microsecond>Z#<kind>#<hash>`: 48 characters, more than a table
column at 80 columns can spare. Tables show its start, the time to the second, which tells a
district's runs apart; every command that takes a run id also takes such a start (as git takes
the start of a commit hash) when it names one run of the district.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartpass.data.stores import Stores

SHORT = len("2026-01-31T23:59:59")
LONGER = len("2026-01-31T23:59:59.123456Z")


class AmbiguousRunId(LookupError):
    """Several runs of the district start with the given text; the message lists them."""


def short_run_ids(run_ids: Iterable[str]) -> dict[str, str]:
    """Each run id's start as the tables show it: to the second, or to the microsecond (or the
    whole id) where two runs listed together share that much."""
    ids = list(dict.fromkeys(run_ids))
    shown = {}
    for run_id in ids:
        for length in (SHORT, LONGER):
            start = run_id[:length]
            if sum(other.startswith(start) for other in ids) == 1:
                shown[run_id] = start
                break
        else:
            shown[run_id] = run_id
    return shown


def resolve_run_id(stores: Stores, tenant_id: str, given: str) -> str:
    """The whole id of the district's run that is `given` or starts with it; `given` itself
    when no run matches (the caller says there is no such run, or waits for a queued one)."""
    if stores.runs.get(tenant_id, given) is not None:
        return given
    matching = [run.run_id for run in stores.runs.after(tenant_id, given) if run.run_id.startswith(given)]
    if len(matching) > 1:
        listed = ", ".join(matching[:5]) + (", ..." if len(matching) > 5 else "")
        raise AmbiguousRunId(
            f"{len(matching)} runs of district {tenant_id} start with {given}: {listed}; give more of the id"
        )
    return matching[0] if matching else given
