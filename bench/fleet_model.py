"""The fleet benchmark's projection: from the districts measured on this machine to a night of
5,000 districts and 20 million users in AWS. Every assumption is a field of `Assumptions` and is
printed with the result.

One district's night in AWS is modelled as the sum of:
- ClassLink: `requests x per_request + rows x per_row` (the latency the benchmark injected);
- the worker's CPU: `rows x cpu_per_row` measured here, times `lambda_cpu_factor` (a function
  with 1,024 MB gets 1024/1769 of a vCPU; CPU-bound work is that much slower than on one core);
- DynamoDB: reading what we hold (1 MB Query pages, `query_page_seconds` each) and writing the
  changes (BatchWriteItem of 25, `write_batch_seconds` each); both serial, so pessimistic.

The night is then simulated: `workers` invocations at once (SQS MaximumConcurrency, the
fleet-wide ClassLink cap: an invocation has at most one ClassLink request in flight), each
taking the next district in queue order; a district whose work outlasts one invocation
(`piece_seconds`) is continued by a message at the back of the queue, as the worker does.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class DistrictWork:
    """One district's night, as measured (or scaled from a measured one)."""

    users: int
    records: int  # records we hold, read to diff against
    rows: int  # rows fetched from ClassLink
    requests: int  # ClassLink requests
    changes: int  # records written (created, updated, deactivated, reactivated)


@dataclass(frozen=True)
class Assumptions:
    per_request_seconds: float
    per_row_seconds: float
    cpu_per_row_seconds: float
    item_bytes: float  # the average stored roster item, as DynamoDB sizes it
    writes_per_change: float
    bookkeeping_writes_per_district: float  # runs, progress, the district item, history
    workers: int
    piece_seconds: float = 290.0  # the worker's 300 s less its checkpoint margin
    lambda_cpu_factor: float = 1769 / 1024
    memory_gb: float = 1.0
    query_page_seconds: float = 0.03
    write_batch_seconds: float = 0.015
    collections: int = 5
    page_rows: int = 10_000


def seconds(work: DistrictWork, a: Assumptions) -> float:
    classlink = work.requests * a.per_request_seconds + work.rows * a.per_row_seconds
    cpu = work.rows * a.cpu_per_row_seconds * a.lambda_cpu_factor
    reads = math.ceil(work.records * a.item_bytes / MB) * a.query_page_seconds
    writes = math.ceil(work.changes * a.writes_per_change / 25) * a.write_batch_seconds
    return classlink + cpu + reads + writes


def scaled(measured: list[DistrictWork], districts: int, users: int, a: Assumptions) -> list[DistrictWork]:
    """`districts` districts with the measured fleet's shape (each measured district repeated in
    turn, its size scaled so the fleet totals `users`); requests follow from the rows."""
    mean = sum(w.users for w in measured) / len(measured)
    factor = users / districts / mean
    fleet = []
    for i in range(districts):
        w = measured[i % len(measured)]
        rows = round(w.rows * factor)
        fleet.append(
            DistrictWork(
                users=round(w.users * factor),
                records=round(w.records * factor),
                rows=rows,
                requests=a.collections + rows // a.page_rows,
                changes=round(w.changes * factor),
            )
        )
    return fleet


def simulate(
    durations: list[float], workers: int, piece_seconds: float, order: list[int] | None = None, seed: int = 1
) -> dict[str, float]:
    """The night's makespan: queue order shuffled unless given (SQS does not keep the fan-out's
    order), continuations at the back of the queue, visible once their piece has ended."""
    if order is None:
        order = list(range(len(durations)))
        random.Random(seed).shuffle(order)
    queue: list[tuple[int, float, float]] = [(i, durations[i], 0.0) for i in order]  # id, left, ready at
    free: list[float] = [0.0] * workers
    heapq.heapify(free)
    finished = [0.0] * len(durations)
    head = 0
    while head < len(queue):
        now = heapq.heappop(free)
        # The first message that is visible by now, in queue order; else wait for the earliest.
        pick = next((k for k in range(head, len(queue)) if queue[k][2] <= now), None)
        if pick is None:
            pick = min(range(head, len(queue)), key=lambda k: queue[k][2])
            now = queue[pick][2]
        queue[head], queue[pick] = queue[pick], queue[head]
        district, left, _ = queue[head]
        head += 1
        ran = min(left, piece_seconds)
        end = now + ran
        if left > ran:
            queue.append((district, left - ran, end))
        else:
            finished[district] = end
        heapq.heappush(free, end)
    return {
        "makespan_seconds": max(finished, default=0.0),
        "longest_district_seconds": max(durations, default=0.0),
    }


def project(measured: list[DistrictWork], districts: int, users: int, a: Assumptions) -> dict[str, Any]:
    fleet = scaled(measured, districts, users, a)
    durations = [seconds(w, a) for w in fleet]
    night = simulate(durations, a.workers, a.piece_seconds)
    records = sum(w.records for w in fleet)
    changes = sum(w.changes for w in fleet)
    # Query reads are charged on the whole items read, eventually consistent: half a unit per 4 KB.
    read_units = records * a.item_bytes / 4096 * 0.5
    write_units = changes * a.writes_per_change * math.ceil(a.item_bytes / 1024) + (
        districts * a.bookkeeping_writes_per_district
    )
    return {
        "districts": districts,
        "users": sum(w.users for w in fleet),
        "records": records,
        "classlink_requests": sum(w.requests for w in fleet),
        "makespan_seconds": round(night["makespan_seconds"], 1),
        "longest_district_seconds": round(night["longest_district_seconds"], 1),
        "lambda_gb_seconds": round(sum(durations) * a.memory_gb),
        "dynamodb_read_units": round(read_units),
        "dynamodb_write_units": round(write_units),
        "goal_seconds": 3600,
        "goal_met": night["makespan_seconds"] < 3600,
        "assumptions": asdict(a),
        "model": __doc__.strip() if __doc__ else "",
    }
