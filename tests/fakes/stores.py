"""In-memory repositories with the semantics of the DynamoDB ones (smartpass.data): conditional
writes, the lease, run versions, parts by prefix. The rules' unit tests run on these in
milliseconds; the integration tier proves the DynamoDB ones through moto server.

Items are kept serialized (as DynamoDB keeps them) and handed out as fresh model objects, so a
test sees exactly what a second reader would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pynamodb.models import Model

from smartpass.data.changes import Changes, Expect, Expectations, Increment
from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District
from smartpass.data.login import LoginCode, LoginState
from smartpass.data.roster import RosterOrg, RosterRecord, RosterUser
from smartpass.data.roster_store import Attributes, Fenced
from smartpass.data.stores import Stores
from smartpass.data.sync_progress import SyncProgress
from smartpass.data.sync_runs import SyncRun


class StaleItem(RuntimeError):
    """The item changed since it was read (a version mismatch)."""


def holds(item: Model | None, expect: Expect) -> bool:
    """Whether the expectation holds for the stored item (None: no item, so no attribute)."""
    value = getattr(item, expect.attribute) if item is not None else None
    if expect.op == "exists":
        return value is not None
    if expect.op == "absent":
        return value is None
    if value is None:
        return expect.op == "!="  # DynamoDB: a missing attribute differs from any value
    if expect.op == "==":
        return bool(value == expect.value)
    if expect.op == "!=":
        return bool(value != expect.value)
    if expect.op == "<":
        return bool(value < expect.value)
    return bool(value > expect.value)


def apply(item: Model, changes: Changes) -> None:
    for name, value in changes.items():
        if isinstance(value, Increment):
            value = (getattr(item, name) or 0) + value.by
        setattr(item, name, value)


def _reload(item: Model, stored: Model) -> None:
    """The object the caller holds, updated as PynamoDB updates it from ALL_NEW."""
    item.attribute_values.clear()
    item.attribute_values.update(stored.attribute_values)


def _copy[M: Model](model: type[M], item: M) -> M:
    return model.from_raw_data(item.serialize())


def _projected[M: Model](model: type[M], raw: dict[str, Any], attributes: Sequence[str]) -> M:
    """The item as DynamoDB returns it with a projection: only those attributes are read back, and
    PynamoDB gives the others their defaults (or None)."""
    return model.from_raw_data({k: v for k, v in raw.items() if k in attributes} if attributes else raw)


class FakeDistricts:
    def __init__(self, history: FakeHistory | None = None) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.writes = 0
        # Where an update's event goes (the same transaction); set by fake_stores().
        self.history = history

    def put(self, district: District) -> District:
        """A district as a test arranges it (no condition, no history)."""
        self.items[district.tenant_id] = district.serialize()
        return self.get(district.tenant_id) or district

    def get(self, tenant_id: str, consistent: bool = True, attributes: Sequence[str] = ()) -> District | None:
        raw = self.items.get(tenant_id)
        return _projected(District, raw, attributes) if raw is not None else None

    def all(self, consistent: bool = True) -> list[District]:
        return [District.from_raw_data(raw) for raw in self.items.values()]

    def add(self, district: District) -> bool:
        if district.tenant_id in self.items:
            return False
        self.writes += 1
        self.items[district.tenant_id] = district.serialize()
        return True

    def refresh(self, district: District) -> None:
        stored = self.get(district.tenant_id)
        assert stored is not None
        _reload(district, stored)

    def update(
        self,
        district: District,
        changes: Changes,
        expect: Expectations = (),
        event: DistrictEvent | None = None,
    ) -> bool:
        stored = self.get(district.tenant_id)
        if not all(holds(stored, e) for e in expect):
            return False
        assert stored is not None, "UpdateItem of a missing district would create one"
        apply(stored, changes)
        self.writes += 1
        self.items[district.tenant_id] = stored.serialize()
        if event is not None:  # one transaction: both or neither
            assert self.history is not None, "a district event needs the history of the same stores"
            self.history.add(event)
        self.refresh(district)
        return True

    def take_lease(self, district: District, run_id: str, until: datetime, now: datetime) -> bool:
        stored = self.get(district.tenant_id)
        assert stored is not None
        holder, expires = stored.sync_lease_run_id, stored.sync_lease_expires_at
        if holder == run_id:
            return self.renew_lease(district, run_id, until)
        if holder is not None and (expires is None or expires >= now):
            return False
        fence = int(stored.sync_lease_fence or 0) + 1
        return self.update(
            district, {"sync_lease_run_id": run_id, "sync_lease_expires_at": until, "sync_lease_fence": fence}
        )

    def renew_lease(self, district: District, run_id: str, until: datetime) -> bool:
        return self.update(
            district, {"sync_lease_expires_at": until}, [Expect("sync_lease_run_id", "==", run_id)]
        )

    def release_lease(self, district: District, run_id: str) -> None:
        self.update(
            district,
            {"sync_lease_run_id": None, "sync_lease_expires_at": None},
            [Expect("sync_lease_run_id", "==", run_id)],
        )


class FakeRuns:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, run: SyncRun) -> bool:
        key = (run.tenant_id, run.run_id)
        if key in self.items:
            return False
        run.version = 1
        self.items[key] = run.serialize()
        return True

    def get(self, tenant_id: str, run_id: str) -> SyncRun | None:
        raw = self.items.get((tenant_id, run_id))
        return SyncRun.from_raw_data(raw) if raw is not None else None

    def _of(self, tenant_id: str) -> list[SyncRun]:
        return [SyncRun.from_raw_data(raw) for (t, _), raw in sorted(self.items.items()) if t == tenant_id]

    def newest(
        self, tenant_id: str, limit: int, consistent: bool = True, attributes: Sequence[str] = ()
    ) -> list[SyncRun]:
        newest = [raw for (t, _), raw in sorted(self.items.items(), reverse=True) if t == tenant_id]
        return [_projected(SyncRun, raw, attributes) for raw in newest[:limit]]

    def after(self, tenant_id: str, run_id: str) -> list[SyncRun]:
        return [run for run in self._of(tenant_id) if run.run_id > run_id]

    def all(self) -> list[SyncRun]:
        return [SyncRun.from_raw_data(raw) for raw in self.items.values()]

    def update(self, run: SyncRun, changes: Changes, expect: Expectations = ()) -> bool:
        stored = self.get(run.tenant_id, run.run_id)
        assert stored is not None
        if stored.version != run.version:
            if expect:
                return False  # one ConditionalCheckFailed, as in DynamoDB
            raise StaleItem(f"run {run.run_id} changed since it was read")
        if not all(holds(stored, e) for e in expect):
            return False
        apply(stored, changes)
        stored.version = int(stored.version or 0) + 1
        self.items[(run.tenant_id, run.run_id)] = stored.serialize()
        fresh = self.get(run.tenant_id, run.run_id)
        assert fresh is not None
        _reload(run, fresh)
        return True


class FakeProgress:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], SyncProgress] = {}

    def put(self, parts: Sequence[SyncProgress]) -> None:
        for part in parts:
            self.items[(part.run_key, part.part)] = _copy(SyncProgress, part)

    def parts(self, run_key: str, prefix: str, keys_only: bool = False) -> Iterator[SyncProgress]:
        for (key, name), part in sorted(self.items.items()):
            if key == run_key and name.startswith(prefix):
                yield _copy(SyncProgress, part)

    def delete(self, parts: Sequence[SyncProgress]) -> None:
        for part in parts:
            self.items.pop((part.run_key, part.part), None)


class FakeHistory:
    def __init__(self) -> None:
        self.events: list[DistrictEvent] = []

    def add(self, event: DistrictEvent) -> None:
        self.events.append(_copy(DistrictEvent, event))

    def newest(self, tenant_id: str, limit: int) -> list[DistrictEvent]:
        return sorted((e for e in self.events if e.tenant_id == tenant_id), key=lambda e: e.event_id)[::-1][
            :limit
        ]

    def after(self, tenant_id: str, event_id: str) -> list[DistrictEvent]:
        return sorted(
            (e for e in self.events if e.tenant_id == tenant_id and e.event_id > event_id),
            key=lambda e: e.event_id,
        )

    def all(self) -> list[DistrictEvent]:
        return [_copy(DistrictEvent, e) for e in self.events]

    def kinds(self, tenant_id: str) -> list[str]:
        return [e.kind for e in self.after(tenant_id, "")]


class FakeRoster:
    """Every roster collection of every district: (model name, tenant) -> sourcedId -> fields."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def table(self, model: type[RosterRecord], tenant_id: str) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault((model.__name__, tenant_id), {})

    def store(
        self, model: type[RosterRecord], tenant_id: str, run_id: str, now: datetime, fence: int | None = None
    ) -> FakeRosterStore:
        return FakeRosterStore(self.table(model, tenant_id), run_id, now, fence)

    def records(self, model: type[RosterRecord], tenant_id: str, attributes: Sequence[str]) -> Iterator[Any]:
        for sourced_id, fields in sorted(self.table(model, tenant_id).items()):
            wanted = {k: v for k, v in fields.items() if k in attributes}
            yield model(tenant_id, sourced_id, **{k: v for k, v in wanted.items() if k != "sourced_id"})


class FakeRosterStore:
    def __init__(
        self, table: dict[str, dict[str, Any]], run_id: str, now: datetime, fence: int | None = None
    ) -> None:
        self.table, self.run_id, self.now, self.fence = table, run_id, now, fence

    def writer_cpu_seconds(self) -> float:
        return 0.0  # no writer threads here

    def _stamp(self) -> dict[str, Any]:
        return {} if self.fence is None else {"sync_fence": self.fence}

    def _newer(self, record: dict[str, Any] | None) -> bool:
        """The record bears a newer run's fencing token than this store's."""
        stamped = None if record is None else record.get("sync_fence")
        return self.fence is not None and stamped is not None and stamped > self.fence

    def existing(self) -> dict[str, int | None]:
        return dict(self.held())

    def held(self) -> Iterator[tuple[str, int]]:
        for sid, f in list(self.table.items()):
            yield sid, int(f["content_hash"], 16) if f["active"] else ~int(f["content_hash"], 16)

    def lookup(self, sourced_ids: Sequence[str]) -> dict[str, int]:
        held = dict(self.held())
        return {sid: held[sid] for sid in sourced_ids if sid in held}

    def create(self, sourced_id: str, attributes: Attributes, digest: str) -> None:
        self.table[sourced_id] = {
            **attributes,
            "content_hash": digest,
            "active": True,
            "last_run_id": self.run_id,
            **self._stamp(),
        }

    def flush(self) -> None:
        pass

    def update(self, sourced_id: str, attributes: Attributes, digest: str, *, reactivate: bool) -> None:
        if self._newer(self.table.get(sourced_id)):
            raise Fenced(f"a newer run wrote {sourced_id}; this run lost its lease")
        record = self.table.setdefault(sourced_id, {"active": True})
        record.update(attributes, content_hash=digest, last_run_id=self.run_id, **self._stamp())
        if reactivate:
            record.update(active=True, deactivated_at=None, deactivation_reason=None)

    def deactivate_many(self, entries: list[tuple[str, str, str]]) -> int:
        return sum(self.deactivate(sid, reason, digest) for sid, reason, digest in entries)

    def deactivate(self, sourced_id: str, reason: str, expected_hash: str | None = None) -> bool:
        record = self.table.get(sourced_id)
        if record is None or not record["active"]:
            return False
        if expected_hash is not None and record["content_hash"] != expected_hash:
            return False
        if self._newer(record):
            return False
        record.update(
            active=False,
            deactivated_at=self.now,
            deactivation_reason=reason,
            last_run_id=self.run_id,
            **self._stamp(),
        )
        return True


class FakeUsers:
    """The users of FakeRoster (where a sync on the fakes leaves them), as a sign-in reads them."""

    def __init__(self, roster: FakeRoster, districts: FakeDistricts) -> None:
        self.roster, self.districts = roster, districts
        self.requests: list[str] = []  # the DynamoDB request each call stands for

    def put(self, user: RosterUser) -> None:
        """A user as a test arranges it (as a sync would have stored it)."""
        fields = {k: v for k, v in user.attribute_values.items() if k not in ("tenant_id", "sourced_id")}
        self.roster.table(RosterUser, user.tenant_id)[user.sourced_id] = fields

    def raw(self, tenant_id: str, sourced_id: str) -> dict[str, Any] | None:
        """The record as DynamoDB would hold it."""
        fields = self.roster.table(RosterUser, tenant_id).get(sourced_id)
        if fields is None:
            return None
        return RosterUser(tenant_id, sourced_id, **fields).serialize(null_check=False)

    def get(self, tenant_id: str, sourced_id: str) -> RosterUser | None:
        self.requests.append("GetItem")
        raw = self.raw(tenant_id, sourced_id)
        return RosterUser.from_raw_data(raw) if raw is not None else None

    def get_with_district(
        self,
        tenant_id: str,
        sourced_id: str,
        district_attributes: Sequence[str],
        user_attributes: Sequence[str],
    ) -> tuple[District | None, RosterUser | None]:
        self.requests.append("BatchGetItem")
        district, user = self.districts.items.get(tenant_id), self.raw(tenant_id, sourced_id)
        return (
            _projected(District, district, district_attributes) if district is not None else None,
            _projected(RosterUser, user, user_attributes) if user is not None else None,
        )

    def by_classlink_user_id(self, tenant_id: str, classlink_user_id: str) -> list[RosterUser]:
        self.requests.append("Query")
        raws = (self.raw(tenant_id, sid) for sid in sorted(self.roster.table(RosterUser, tenant_id)))
        users = [RosterUser.from_raw_data(raw) for raw in raws if raw is not None]
        return [u for u in users if u.classlink_user_id == classlink_user_id]

    def record_sign_in(self, user: RosterUser, classlink_user_id: str, at: datetime) -> bool:
        self.requests.append("UpdateItem")
        fields = self.roster.table(RosterUser, user.tenant_id).get(user.sourced_id)
        if fields is None:  # DynamoDB: attribute_exists(sourced_id) fails on a missing item
            return False
        if fields.get("classlink_user_id") not in (None, classlink_user_id):
            return False
        fields.update(classlink_user_id=classlink_user_id, last_login_at=at)
        raw = self.raw(user.tenant_id, user.sourced_id)
        assert raw is not None
        _reload(user, RosterUser.from_raw_data(raw))  # PynamoDB reads back the whole item (ALL_NEW)
        return True


class FakeOrgs:
    def __init__(self, roster: FakeRoster) -> None:
        self.roster = roster

    def names(self, tenant_id: str, sourced_ids: Sequence[str]) -> dict[str, str]:
        table = self.roster.table(RosterOrg, tenant_id)
        return {i: str(table[i]["name"]) for i in sourced_ids if i in table}

    def types(self, tenant_id: str, sourced_ids: Sequence[str]) -> dict[str, str]:
        table = self.roster.table(RosterOrg, tenant_id)
        return {i: str(table[i]["org_type"]) for i in sourced_ids if i in table}


class FakeLoginStates:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def add(self, state: LoginState) -> bool:
        if state.state in self.items:
            return False
        self.items[state.state] = state.serialize()
        return True

    def stored(self, state: str) -> LoginState | None:
        raw = self.items.get(state)
        return LoginState.from_raw_data(raw) if raw is not None else None

    def update(self, state: str, changes: Changes, expect: Expectations = ()) -> LoginState | None:
        stored = self.stored(state)
        if not all(holds(stored, e) for e in expect):
            return None
        item = stored or LoginState(state=state)  # DynamoDB: an UpdateItem creates a missing item
        apply(item, changes)
        self.items[state] = item.serialize(null_check=False)
        return self.stored(state)


class FakeLoginCodes:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def add(self, code: LoginCode) -> None:
        self.items[code.code_hash] = code.serialize()

    def get(self, code_hash: str) -> LoginCode | None:
        raw = self.items.get(code_hash)
        return LoginCode.from_raw_data(raw) if raw is not None else None

    def update(self, code: LoginCode, changes: Changes, expect: Expectations = ()) -> bool:
        stored = self.get(code.code_hash)
        if not all(holds(stored, e) for e in expect):
            return False
        item = stored or LoginCode(code_hash=code.code_hash)
        apply(item, changes)
        self.items[code.code_hash] = item.serialize(null_check=False)
        fresh = self.get(code.code_hash)
        assert fresh is not None
        _reload(code, fresh)
        return True


def fake_stores() -> Stores:
    roster = FakeRoster()
    history = FakeHistory()
    districts = FakeDistricts(history)
    return Stores(
        districts=districts,
        runs=FakeRuns(),
        progress=FakeProgress(),
        history=history,
        roster=roster.store,
        roster_reader=roster,
        users=FakeUsers(roster, districts),
        orgs=FakeOrgs(roster),
        login_states=FakeLoginStates(),
        login_codes=FakeLoginCodes(),
    )


def rostered_user(stores: Stores, tenant_id: str, sourced_id: str, **fields: Any) -> None:
    """A rostered, active student as a sync would have stored it (fields override), for the
    sign-in's and the operators' rules."""
    assert isinstance(stores.users, FakeUsers)
    defaults: dict[str, Any] = {
        "role": "student",
        "app_role": "student",
        "given_name": "Ada",
        "family_name": "Quill",
        "content_hash": "0a",
        "active": True,
    }
    stores.users.put(RosterUser(tenant_id, sourced_id, **{**defaults, **fields}))
