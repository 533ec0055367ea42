"""Every repository the domain is handed, in one bundle, and the DynamoDB one the functions use.

Handlers (and the operator CLI) build `dynamo_stores()` once; tests of the rules build the same
bundle from in-memory fakes (tests/fakes). Nothing outside `smartpass.data` imports PynamoDB.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartpass.data.district_repository import DistrictRepository, DynamoDistricts
from smartpass.data.history_repository import DynamoHistory, HistoryRepository
from smartpass.data.login_repository import (
    DynamoLoginCodes,
    DynamoLoginStates,
    LoginCodeRepository,
    LoginStateRepository,
)
from smartpass.data.org_repository import DynamoOrgs, OrgRepository
from smartpass.data.progress_repository import DynamoProgress, ProgressRepository
from smartpass.data.roster_store import DynamoRosterReader, DynamoRosterStore, RosterReader, RosterStores
from smartpass.data.run_repository import DynamoRuns, RunRepository
from smartpass.data.user_repository import DynamoUsers, UserRepository


@dataclass(frozen=True)
class Stores:
    districts: DistrictRepository
    runs: RunRepository
    progress: ProgressRepository
    history: HistoryRepository
    roster: RosterStores  # the store of one collection for one run
    roster_reader: RosterReader
    users: UserRepository  # rostered users as a sign-in reads and links them
    orgs: OrgRepository
    login_states: LoginStateRepository
    login_codes: LoginCodeRepository


def dynamo_stores() -> Stores:
    """Cheap: no connection is made until the first call (PynamoDB connects lazily)."""
    return Stores(
        districts=DynamoDistricts(),
        runs=DynamoRuns(),
        progress=DynamoProgress(),
        history=DynamoHistory(),
        roster=DynamoRosterStore,
        roster_reader=DynamoRosterReader(),
        users=DynamoUsers(),
        orgs=DynamoOrgs(),
        login_states=DynamoLoginStates(),
        login_codes=DynamoLoginCodes(),
    )
