"""One validated settings object per process, read from the environment at cold start.

Every value comes from template.yaml (Globals.Function.Environment); the local stack builds the
same environment from the same file. A missing or malformed variable stops the process at start
with a message naming every bad variable, instead of failing on the first request that uses it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from ipaddress import ip_address
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(RuntimeError):
    """Raised at start when the environment cannot produce valid settings."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    # Plain http is only acceptable to a loopback host (the local sandbox); anything that leaves
    # the machine carries tokens and rosters, so it must be TLS.
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must use https unless the host is loopback")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    return value.rstrip("/")


class Settings(BaseModel):
    """Field aliases are the environment variable names, so errors name the variable."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    stage: str = Field(alias="STAGE", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    districts_table: str = Field(alias="DISTRICTS_TABLE", min_length=3)
    district_history_table: str = Field(alias="DISTRICT_HISTORY_TABLE", min_length=3)
    roster_users_table: str = Field(alias="ROSTER_USERS_TABLE", min_length=3)
    roster_orgs_table: str = Field(alias="ROSTER_ORGS_TABLE", min_length=3)
    roster_classes_table: str = Field(alias="ROSTER_CLASSES_TABLE", min_length=3)
    roster_enrollments_table: str = Field(alias="ROSTER_ENROLLMENTS_TABLE", min_length=3)
    roster_terms_table: str = Field(alias="ROSTER_TERMS_TABLE", min_length=3)
    sync_progress_table: str = Field(alias="SYNC_PROGRESS_TABLE", min_length=3)
    sync_runs_table: str = Field(alias="SYNC_RUNS_TABLE", min_length=3)
    login_states_table: str = Field(alias="LOGIN_STATES_TABLE", min_length=3)
    login_codes_table: str = Field(alias="LOGIN_CODES_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    sync_queue_url: str = Field(alias="SYNC_QUEUE_URL")
    operator_topic_arn: str = Field(alias="OPERATOR_TOPIC_ARN", pattern=r"^arn:aws[a-z-]*:sns:")
    partner_api_key_secret_id: str = Field(alias="PARTNER_API_KEY_SECRET_ID", min_length=1)
    sso_client_secret_id: str = Field(alias="SSO_CLIENT_SECRET_ID", min_length=1)
    session_signing_key_secret_id: str = Field(alias="SESSION_SIGNING_KEY_SECRET_ID", min_length=1)
    district_link_signing_key_secret_id: str = Field(
        alias="DISTRICT_LINK_SIGNING_KEY_SECRET_ID", min_length=1
    )
    district_link_public_keys_parameter: str = Field(
        alias="DISTRICT_LINK_PUBLIC_KEYS_PARAMETER", min_length=1
    )
    # The session keys' public halves (a JWKS), for the district holds page, which verifies a
    # district administrator's session and reads no private key.
    session_public_keys_parameter: str = Field(alias="SESSION_PUBLIC_KEYS_PARAMETER", min_length=1)
    district_secret_prefix: str = Field(alias="DISTRICT_SECRET_PREFIX", pattern=r"^[A-Za-z0-9/_+=.@-]+/$")
    classlink_partner_api_url: str = Field(alias="CLASSLINK_PARTNER_API_URL")
    classlink_oneroster_proxy_url: str = Field(alias="CLASSLINK_ONEROSTER_PROXY_URL")
    classlink_launchpad_url: str = Field(alias="CLASSLINK_LAUNCHPAD_URL")
    classlink_nodeapi_url: str = Field(alias="CLASSLINK_NODEAPI_URL")
    smartpass_app_url: str = Field(alias="SMARTPASS_APP_URL")
    # The redirect URI registered with ClassLink; empty until the second deploy (SSO then
    # refuses with a page that says it is not configured).
    sso_redirect_uri: str = Field(alias="SSO_REDIRECT_URI", default="")
    # Retries of a 429/5xx from ClassLink: exponential from this base, jittered, capped at 32 s.
    oneroster_backoff_seconds: float = Field(alias="ONEROSTER_BACKOFF_SECONDS", ge=0, le=30)
    oneroster_max_retries: int = Field(alias="ONEROSTER_MAX_RETRIES", ge=0, le=10)
    # The schedules' timezone: blackout dates are the district's local dates, not UTC's.
    schedule_timezone: str = Field(alias="SCHEDULE_TIMEZONE", default="America/New_York")
    # The SES identity district reports are sent from; empty = reports go to operators only.
    report_sender_email: str = Field(alias="REPORT_SENDER_EMAIL", default="")

    @field_validator("schedule_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone") from None
        return value

    @field_validator(
        "sync_queue_url",
        "classlink_partner_api_url",
        "classlink_oneroster_proxy_url",
        "classlink_launchpad_url",
        "classlink_nodeapi_url",
        "smartpass_app_url",
    )
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("sso_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str) -> str:
        return _check_base_url(value) if value else value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "?"
                reason = "is not set" if error["type"] == "missing" else error["msg"]
                problems.append(f"{name} {reason}")
            raise SettingsError("Invalid configuration: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, validated once (cold start)."""
    return Settings.from_environ(os.environ)
