"""One run per district at a time: a lease on the District row (a conditional write with an
expiry). The run that holds it may renew it; an expired lease may be taken by any run, so a
worker that died mid-run blocks its district for at most the lease's length.

Fencing. A worker can outlive its lease: stalled past the expiry, or a continuation that waited
in the queue longer than CONTINUATION_LEASE. Its late writes must not undo the run that took
the district over. So:
- each takeover moves the district's fencing token on (District.sync_lease_fence); the run keeps
  the token it took (SyncRun.lease_fence) and stamps it on every roster record it writes, whose
  updates and deactivations are refused where a newer token is stamped (data/roster_store.py);
- a piece renews the lease before each page's writes and each batch of deactivations
  (`keep_lease`), and stops with LeaseLost as soon as another run holds it;
- a continuation never takes a lost lease back: its run ends failed, writing nothing more;
- the district's state, last run and lease are written only while the run holds the lease.
"""

from __future__ import annotations

from datetime import timedelta

from smartpass.data.base import utcnow
from smartpass.data.districts import District
from smartpass.data.stores import Stores

LEASE_MARGIN = timedelta(minutes=15)  # beyond the invocation's own time
# Between pieces the lease covers the wait in the queue (an hour's backlog raises an alarm);
# a run that ends for any reason releases it at once.
CONTINUATION_LEASE = timedelta(hours=6)


LEASE_LOST = (
    "another run took over this district's lease while this one was still working; "
    "this run stopped writing, and deactivated nothing after that"
)


class LeaseLost(Exception):
    """Another run took the district's lease: this run must write nothing more."""

    def __init__(self, message: str = LEASE_LOST) -> None:
        super().__init__(message)


def acquire_lease(stores: Stores, district: District, run_id: str, seconds: float) -> bool:
    """Lease the district to `run_id` for `seconds` (plus a margin); False when another run
    holds an unexpired lease."""
    now = utcnow()
    return stores.districts.take_lease(district, run_id, now + timedelta(seconds=seconds) + LEASE_MARGIN, now)


def renew_lease(stores: Stores, district: District, run_id: str, seconds: float) -> bool:
    """Extend the lease `run_id` still holds; False when it was taken by another run since."""
    return stores.districts.renew_lease(
        district, run_id, utcnow() + timedelta(seconds=seconds) + LEASE_MARGIN
    )


def keep_lease(stores: Stores, district: District, run_id: str, seconds: float) -> None:
    """Renew before writing; raise LeaseLost when the run no longer holds the lease."""
    if not renew_lease(stores, district, run_id, seconds):
        raise LeaseLost


def release_lease(stores: Stores, district: District, run_id: str) -> None:
    stores.districts.release_lease(district, run_id)
