"""One piece of one district's sync run: pull each collection, reconcile, then decide.

A run is one or more pieces. A piece stops before the invocation's time runs out, saves a
checkpoint (collection, offset, page size, revision, and in SyncProgress the sourcedIds seen so
far and the deactivations decided so far) and asks for a continuation message; the next piece
carries on with the same rules, so a 500,000-user district is judged as one pull.

At the end of the pull, every pending deactivation of every collection is weighed together
against the district's threshold (the larger of a share and a number of each collection's
active records). Over it, or an empty pull of a collection we hold records of, and the run is
*held*: nothing is deactivated and operators are told. Otherwise the deactivations are applied.
A pull that stays inconsistent after restarts, or ClassLink failing after its retries, fails
the run cleanly: what was written is what ClassLink sent, and nothing is deactivated.

A piece renews the district's lease before each page's writes and each batch of deactivations,
and writes with the run's fencing token (sync/lease.py): a run that lost its lease stops.
The worker's CPU per phase (pull, absence, apply) is measured with `time.thread_time()` a few
times per page, plus what the writer threads spent on the piece's writes.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oneroster import AccessRevoked, OneRosterClient, OutOfTime, Page
from smartpass.data.base import plain_map, utcnow
from smartpass.data.districts import District, DistrictState
from smartpass.data.roster_store import Fenced, RosterStore
from smartpass.data.stores import Stores
from smartpass.data.sync_runs import COUNT_NAMES, Checkpoint, SyncRun, SyncState
from smartpass.sync.collections import COLLECTIONS, role_mapping
from smartpass.sync.lease import LEASE_LOST, LeaseLost, keep_lease
from smartpass.sync.progress import HELD, PENDING, SEEN, ProgressParts
from smartpass.sync.pull import MAX_INVALID_SAMPLES, CollectionPull, InconsistentPull, Pending
from smartpass.sync.rollover import school_year_rollover

MAX_RESTARTS = 2  # a collection whose pages do not add up is pulled at most three times
MIN_RESERVE_SECONDS = 2.0  # never start a page with less time than this left
DEACTIVATIONS_PER_TIME_CHECK = 100


@dataclass
class PieceResult:
    state: str  # a SyncState, or "continued"
    counts: dict[str, dict[str, int]]
    requests: int
    retries: int
    seconds: float
    message: str = ""
    findings: list[str] = field(default_factory=list)
    held: int = 0
    revoked: bool = False  # ClassLink refused our credentials
    lease_lost: bool = False  # another run took the district over: this run wrote no more
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # this piece's, per phase


PHASES = ("pull", "absence", "apply", "report")


class RunFailed(Exception):
    """The run cannot finish; the message says why in plain words."""


@dataclass
class Piece:
    """State of the piece being run. Built by `run_piece`; not reused across invocations."""

    stores: Stores
    run: SyncRun
    district: District
    client: OneRosterClient
    time_left: Callable[[], float]
    piece: int
    now: datetime
    names: list[str]
    progress: ProgressParts
    counts: dict[str, Counter[str]]
    pending: dict[str, dict[str, Pending]] = field(default_factory=dict)
    unsaved_pending: dict[str, list[list[str]]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    slowest_page: float = 0.0
    budget: float = 0.0  # the time this piece had when it began (seconds)
    pages_done: int = 0
    cpu: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # per phase

    # ---------------------------------------------------------------- lease and fence
    def store(self, name: str) -> RosterStore:
        model = COLLECTIONS[name].model
        fence = None if self.run.lease_fence is None else int(self.run.lease_fence)
        return self.stores.roster(model, self.district.tenant_id, self.run.run_id, self.now, fence)

    def keep_lease(self) -> None:
        keep_lease(self.stores, self.district, self.run.run_id, max(self.time_left(), 0.0))

    # ---------------------------------------------------------------- time
    def reserve(self) -> float:
        return max(MIN_RESERVE_SECONDS, 3 * self.slowest_page)

    def out_of_time(self) -> bool:
        return self.time_left() < self.reserve()

    # ---------------------------------------------------------------- pull
    def pull(self, checkpoint: Checkpoint) -> Checkpoint | None:
        """Pull from the checkpoint on. Returns a checkpoint to continue from, or None when
        every collection is complete."""
        start = self.names.index(checkpoint.collection) if checkpoint.collection in self.names else 0
        for name in self.names[start:]:
            resumed = name == checkpoint.collection and checkpoint.saved_at is not None
            stopped = self._pull_collection(name, checkpoint if resumed else None)
            if stopped is not None:
                return stopped
        return None

    def _pull_collection(self, name: str, resume: Checkpoint | None) -> Checkpoint | None:
        store = self.store(name)
        try:
            return self._pull_from(name, store, resume)
        finally:  # what the writer threads spent on this collection's writes
            self.cpu["pull"] += store.writer_cpu_seconds()

    def _pull_from(self, name: str, store: RosterStore, resume: Checkpoint | None) -> Checkpoint | None:
        spec = COLLECTIONS[name]
        roles = role_mapping(plain_map(self.district.sync_settings.role_mapping))
        restarts = int(resume.restarts) if resume else 0
        while True:
            # What we hold is read in full once per pull, in its first piece; a resumed pull
            # looks up each page's records and reads it all once more to judge absence.
            existing = store.existing() if resume is None else {}
            if resume is None:
                self.counts[name]["active_before"] = sum(
                    1 for stored in existing.values() if stored is not None and stored >= 0
                )
            pull = CollectionPull(spec, store, roles, existing, resumed=resume is not None)
            offset, page_size = 0, int(self.district.sync_settings.page_size or 10_000)
            if resume is not None:
                pull.mark_seen([sid for _, sid in self.progress.load(SEEN, name)])
                pull.pending = dict(self.pending.get(name, {}))
                pull.total = None if resume.total is None else int(resume.total)
                pull.perm_rev = resume.perm_rev
                pull.duplicates = int(resume.duplicates or 0)
                pull.unidentified = int(resume.unidentified or 0)
                offset, page_size = int(resume.offset), int(resume.page_size)
            try:
                while True:
                    if self.pages_done and self.out_of_time():  # every piece moves forward
                        return self._checkpoint_pull(name, pull, offset, page_size, restarts)
                    started = time.monotonic()
                    try:
                        page = self.client.page(
                            spec.endpoint, spec.envelope, offset=offset, limit=page_size, fields=spec.fields
                        )
                    except OutOfTime:
                        if not self.pages_done:
                            raise RunFailed(
                                "an invocation's time was too short to fetch one page; "
                                "nothing was deactivated"
                            ) from None
                        return self._checkpoint_pull(name, pull, offset, page_size, restarts)
                    page_size = page.limit
                    before = pull.distinct + pull.unidentified
                    self.keep_lease()  # before this page's writes go out
                    pull.apply(page)
                    self.pages_done += 1
                    self.slowest_page = max(self.slowest_page, time.monotonic() - started)
                    offset = page.following_offset
                    if self._last_page(page, offset, pull, before):
                        break
                if pull.resumed and self.pages_done > 1 and self.time_left() < self.budget / 2:
                    # Judging absence reads all we hold of the collection: in a piece of its
                    # own, with a whole invocation's time, rather than what is left of this one
                    # (a Lambda timeout is not an exception: nothing would be saved). The next
                    # piece asks for the page after the last and judges (once: it has fetched
                    # one page only, so it never defers again).
                    return self._checkpoint_pull(name, pull, offset, page_size, restarts)
                judging = time.thread_time()
                self.findings += pull.finish_pull()
                self.cpu["absence"] += time.thread_time() - judging
            except InconsistentPull as exc:
                self._absorb(name, pull)
                restarts += 1
                self.counts[name]["restarts"] += 1
                self.progress.delete([SEEN, PENDING], name)
                self.pending.pop(name, None)
                self.unsaved_pending.pop(name, None)
                if restarts > MAX_RESTARTS:
                    raise RunFailed(
                        f"ClassLink's {name} did not add up in {restarts} pulls ({exc}); "
                        "nothing was deactivated"
                    ) from None
                resume = None
                continue
            self._absorb(name, pull)
            self.counts[name]["distinct"] = pull.distinct
            self.pending[name] = pull.pending
            return None

    @staticmethod
    def _last_page(page: Page, offset: int, pull: CollectionPull, before: int) -> bool:
        """Pages advance by the rows that arrived, since a server may cap a page below the
        limit asked for. With a total, page until the offset reaches it; else by the server's
        `Link` header when it sends one; else until a page comes back empty (a short page may
        be a capped one). A page that brings nothing new ends the pull either way (a server
        ignoring `offset` would otherwise be paged forever); the completeness check then says
        whether the pull is whole."""
        if not page.rows or pull.distinct + pull.unidentified == before:
            return True
        if pull.total is not None:
            return offset >= pull.total
        if page.linked:
            return page.next_offset is None
        return False

    def _absorb(self, name: str, pull: CollectionPull) -> None:
        """Add what a pull object did to the run's record, once."""
        self.counts[name].update(pull.counts)
        pull.counts.clear()
        room = MAX_INVALID_SAMPLES - len(self.run.invalid_records or [])
        if room > 0:
            self.run.invalid_records = cast(
                "Any", [*(self.run.invalid_records or []), *pull.invalid_samples[:room]]
            )
        pull.invalid_samples.clear()
        self.unsaved_pending.setdefault(name, []).extend(pull.new_pending)
        pull.new_pending.clear()

    def _checkpoint_pull(
        self, name: str, pull: CollectionPull, offset: int, page_size: int, restarts: int
    ) -> Checkpoint:
        # Everything seen so far, saved first; only then are earlier pieces' lists dropped, so
        # there is never a moment with no list (a reader takes the union).
        self.progress.save(SEEN, name, self.piece, pull.seen_ids())
        self.progress.delete([SEEN], name, before_piece=self.piece)
        self._absorb(name, pull)
        self.pending[name] = pull.pending
        self._save_pending()
        return Checkpoint(
            phase="pull",
            collection=name,
            offset=offset,
            page_size=page_size,
            perm_rev=pull.perm_rev,
            total=pull.total,
            restarts=restarts,
            duplicates=pull.duplicates,
            unidentified=pull.unidentified,
            saved_at=utcnow(),
        )

    def _save_pending(self) -> None:
        for name, entries in self.unsaved_pending.items():
            if entries:
                self.progress.save(PENDING, name, self.piece, entries)
        self.unsaved_pending.clear()

    def load_pending(self) -> None:
        for name, entry in self.progress.load(PENDING):
            self.pending.setdefault(name, {})[entry[0]] = (entry[1], entry[2])

    # ---------------------------------------------------------------- decide
    def over_threshold(self) -> list[str]:
        settings = self.district.sync_settings
        limits = {
            name: max(
                int(self.counts[name].get("active_before", 0))
                * float(settings.deactivation_threshold_percent)
                / 100,
                float(settings.deactivation_threshold_minimum),
            )
            for name in self.names
        }
        # A school-year rollover's terms, classes and enrollments do not count (rollover.py).
        rollover = school_year_rollover(
            self.stores.roster_reader, self.district.tenant_id, self.pending, limits, self.now.date()
        )
        if rollover.finding and rollover.finding not in self.findings:
            self.findings.append(rollover.finding)
        reasons = []
        for name in self.names:
            active = int(self.counts[name].get("active_before", 0))
            count = len(self.pending.get(name, {})) - rollover.exempt.get(name, 0)
            if self.counts[name].get("distinct", 0) == 0 and active > 0:
                reasons.append(f"ClassLink sent no {name} while we hold {active} active ones")
            elif count > (limit := limits[name]):
                reasons.append(
                    f"{count} of {active} active {name} would be deactivated, over the limit of {int(limit)}"
                )
        return reasons

    def hold(self, reasons: list[str]) -> int:
        held = 0
        for name, entries in self.pending.items():
            rows = [[sid, reason, digest] for sid, (reason, digest) in entries.items()]
            self.progress.save(HELD, name, 0, rows)
            held += len(rows)
        self.progress.delete([SEEN, PENDING])
        self.findings += reasons
        return held

    def apply(self, checkpoint: Checkpoint) -> Checkpoint | None:
        """Apply every pending deactivation, each conditional on the record still being active
        with the content it had when it was decided. Returns a checkpoint (collection and how
        many of its sorted deactivations are done) when time runs out first."""
        resume_at = checkpoint.collection if checkpoint.phase == "finish" else None
        applied_here = 0
        for name in self.names:
            if resume_at is not None and name != resume_at:
                continue  # done in an earlier piece
            done = int(checkpoint.offset) if name == resume_at else 0
            resume_at = None
            store = self.store(name)
            entries = sorted(self.pending.get(name, {}).items())
            try:
                while done < len(entries):
                    # At least one chunk per piece, so a run always moves forward.
                    if applied_here and self.time_left() < MIN_RESERVE_SECONDS:
                        self._save_pending()
                        return Checkpoint(phase="finish", collection=name, offset=done, saved_at=utcnow())
                    chunk = entries[done : done + DEACTIVATIONS_PER_TIME_CHECK]
                    self.keep_lease()  # before this batch of deactivations goes out
                    applied = store.deactivate_many(
                        [(sid, reason, digest) for sid, (reason, digest) in chunk]
                    )
                    self.counts[name]["deactivated"] += applied
                    done += len(chunk)
                    applied_here += len(chunk)
            finally:  # what the writer threads spent on these deactivations
                self.cpu["apply"] += store.writer_cpu_seconds()
        self.progress.delete([SEEN, PENDING])
        return None


PAUSED_DURING_THE_RUN = "the district was paused during the run; nothing was deactivated"


def paused_meanwhile(stores: Stores, tenant_id: str) -> bool:
    """Paused (or removed) since the piece began: one consistent read before any deactivation,
    so a pause that lands during a run's last piece still stops it from deactivating anyone."""
    current = stores.districts.get(tenant_id, attributes=["state"])
    return current is None or current.state == DistrictState.PAUSED.value


def totals(counts: dict[str, Counter[str]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for per in counts.values():
        total.update({k: v for k, v in per.items() if k in COUNT_NAMES})
    return {name: int(total.get(name, 0)) for name in COUNT_NAMES}


def plain_counts(counts: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    result = {name: {k: int(v) for k, v in sorted(per.items())} for name, per in counts.items()}
    result["total"] = totals(counts)
    return result


def run_piece(
    stores: Stores,
    run: SyncRun,
    district: District,
    client: OneRosterClient,
    piece: int,
    time_left: Callable[[], float],
) -> tuple[PieceResult, Checkpoint | None]:
    """Run one piece. Returns the result and, when the run must continue, its checkpoint.
    Saves nothing to the run record itself: the caller does (handle_request.py)."""
    started = time.monotonic()
    names = [n for n in COLLECTIONS if n in (district.sync_settings.collections or COLLECTIONS)]
    previous = plain_map(run.counts)
    counts: dict[str, Counter[str]] = {
        n: Counter({k: int(v) for k, v in dict(previous.get(n, {})).items()}) for n in names
    }
    state = Piece(
        stores=stores,
        run=run,
        district=district,
        client=client,
        time_left=time_left,
        piece=piece,
        now=utcnow(),
        names=names,
        progress=ProgressParts(stores.progress, district.tenant_id, run.run_id, utcnow()),
        counts=counts,
        findings=[str(f) for f in run.findings or []],
        budget=time_left(),
    )
    checkpoint = run.checkpoint or Checkpoint(phase="pull", collection=names[0] if names else None)
    if piece > 0:
        state.load_pending()
    result_state, message, held, next_checkpoint = SyncState.SUCCEEDED.value, "", 0, None
    revoked = lease_lost = False
    clock = time.thread_time()

    def phase_done(name: str) -> None:
        nonlocal clock
        now = time.thread_time()
        state.cpu[name] += now - clock
        clock = now

    try:
        if checkpoint.phase == "pull":
            next_checkpoint = state.pull(checkpoint)
            state.cpu["pull"] -= state.cpu["absence"]  # judged inside the pull, counted apart
            phase_done("pull")
        if next_checkpoint is None:
            reasons = state.over_threshold()
            if reasons:
                held = state.hold(reasons)
                result_state = SyncState.HELD.value
                message = f"held for approval: {'; '.join(reasons)}"
            phase_done("absence")
            if not reasons and paused_meanwhile(stores, district.tenant_id):
                result_state, message = SyncState.SKIPPED.value, PAUSED_DURING_THE_RUN
            elif not reasons:
                next_checkpoint = state.apply(checkpoint)
                phase_done("apply")
    except (LeaseLost, Fenced) as exc:
        result_state, lease_lost = SyncState.FAILED.value, True
        message = str(exc) if isinstance(exc, LeaseLost) else LEASE_LOST
    except AccessRevoked:
        result_state, revoked = SyncState.FAILED.value, True
        message = (
            "ClassLink refused our credentials for this district (401), even after reading them "
            "again: the district may have removed or disabled the SmartPass app in Roster Server"
        )
    except (ClassLinkError, RunFailed) as exc:
        result_state, message = SyncState.FAILED.value, str(exc)
    if next_checkpoint is not None and result_state == SyncState.SUCCEEDED.value:
        result_state = "continued"
    if result_state in (SyncState.FAILED.value, SyncState.SKIPPED.value):
        state.progress.delete([SEEN, PENDING])
    stats = client.stats
    plain = plain_counts(counts)
    earlier = {k: int(v) for k, v in dict(previous.get("client", {})).items()}
    plain["client"] = {  # summed over the run's pieces
        "requests": earlier.get("requests", 0) + stats.requests,
        "retries": earlier.get("retries", 0) + stats.retries,
        "page_size_halvings": earlier.get("page_size_halvings", 0) + stats.page_size_halvings,
        "credential_refreshes": earlier.get("credential_refreshes", 0) + stats.credential_refreshes,
    }
    return (
        PieceResult(
            state=result_state,
            counts=plain,
            requests=stats.requests,
            retries=stats.retries,
            seconds=round(time.monotonic() - started, 3),
            message=message,
            findings=state.findings,
            held=held,
            revoked=revoked,
            lease_lost=lease_lost,
            cpu_seconds={name: round(state.cpu[name], 6) for name in PHASES if name in state.cpu},
        ),
        next_checkpoint if result_state == "continued" else None,
    )
