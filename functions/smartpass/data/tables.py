"""Binds every model to the table named in Settings (called once per process at start)."""

from __future__ import annotations

from smartpass.data.district_history import DistrictEvent
from smartpass.data.districts import District
from smartpass.data.login import LoginCode, LoginState
from smartpass.data.roster import RosterClass, RosterEnrollment, RosterOrg, RosterTerm, RosterUser
from smartpass.data.sync_progress import SyncProgress
from smartpass.data.sync_runs import SyncRun
from smartpass.settings import Settings


def bind_tables(settings: Settings) -> None:
    District.bind(settings.districts_table)
    DistrictEvent.bind(settings.district_history_table)
    RosterUser.bind(settings.roster_users_table)
    RosterOrg.bind(settings.roster_orgs_table)
    RosterClass.bind(settings.roster_classes_table)
    RosterEnrollment.bind(settings.roster_enrollments_table)
    RosterTerm.bind(settings.roster_terms_table)
    SyncProgress.bind(settings.sync_progress_table)
    SyncRun.bind(settings.sync_runs_table)
    LoginState.bind(settings.login_states_table)
    LoginCode.bind(settings.login_codes_table)
