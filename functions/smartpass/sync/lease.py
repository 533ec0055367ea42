"""One run per district at a time: a lease on the District row (a conditional write with an
expiry). The run that holds it may renew it; an expired lease may be taken by any run, so a
worker that died mid-run blocks its district for at most the lease's length."""

from __future__ import annotations

from datetime import timedelta

from smartpass.data.base import utcnow
from smartpass.data.districts import District
from smartpass.data.stores import Stores

LEASE_MARGIN = timedelta(minutes=15)  # beyond the invocation's own time
# Between pieces the lease covers the wait in the queue (an hour's backlog raises an alarm);
# a run that ends for any reason releases it at once.
CONTINUATION_LEASE = timedelta(hours=6)


def acquire_lease(stores: Stores, district: District, run_id: str, seconds: float) -> bool:
    """Lease the district to `run_id` for `seconds` (plus a margin); False when another run
    holds an unexpired lease."""
    now = utcnow()
    return stores.districts.take_lease(district, run_id, now + timedelta(seconds=seconds) + LEASE_MARGIN, now)


def release_lease(stores: Stores, district: District, run_id: str) -> None:
    stores.districts.release_lease(district, run_id)
