"""OneRoster v1p1 records as ClassLink sends them (classlink-facts B7), parsed into typed models.

Only the fields we store are modelled; anything else in a payload (password, sms, phone,
agents, demographics) is ignored at parse time and never reaches our code. Booleans arrive as
strings ("true"/"false"); `status` is `active` or `tobedeleted`, and OneRoster 1.0's
`inactive` means `tobedeleted` (B6). A record that does not parse is reported by the caller
with its sourcedId, never written.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _bool_string(value: object) -> bool:
    if value in ("true", True, "True", "TRUE"):
        return True
    if value in ("false", False, "False", "FALSE"):
        return False
    raise ValueError('must be "true" or "false"')


class Ref(BaseModel):
    """A GUID reference ({href, sourcedId, type}); hrefs are never followed (B1)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sourcedId: str = Field(min_length=1, max_length=255)


class OneRosterRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    sourced_id: str = Field(alias="sourcedId", min_length=1, max_length=255)
    status: Literal["active", "tobedeleted"] = "active"

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        return "tobedeleted" if value == "inactive" else value

    @property
    def to_be_deleted(self) -> bool:
        return self.status == "tobedeleted"


class User(OneRosterRecord):
    role: str = Field(min_length=1, max_length=64)
    given_name: str = Field(alias="givenName", max_length=256)
    family_name: str = Field(alias="familyName", max_length=256)
    email: str | None = Field(default=None, max_length=320)
    username: str | None = Field(default=None, max_length=256)
    enabled_user: bool = Field(default=True, alias="enabledUser")
    orgs: list[Ref] = Field(default_factory=list)
    grades: list[str] = Field(default_factory=list)

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("email", "username", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("enabled_user", mode="before")
    @classmethod
    def _enabled(cls, value: object) -> bool:
        return _bool_string(value)


class Org(OneRosterRecord):
    name: str = Field(min_length=1, max_length=512)
    type: str = Field(min_length=1, max_length=64)
    parent: Ref | None = None


class SchoolClass(OneRosterRecord):
    title: str = Field(max_length=512)
    school: Ref
    terms: list[Ref] = Field(default_factory=list)


class Enrollment(OneRosterRecord):
    user: Ref
    class_: Ref = Field(alias="class")
    school: Ref | None = None
    role: str = Field(min_length=1, max_length=64)
    primary: bool = False
    begin_date: str | None = Field(default=None, alias="beginDate")
    end_date: str | None = Field(default=None, alias="endDate")

    @field_validator("primary", mode="before")
    @classmethod
    def _primary(cls, value: object) -> bool:
        return False if value in (None, "") else _bool_string(value)

    @field_validator("begin_date", "end_date", mode="before")
    @classmethod
    def _blank_date(cls, value: object) -> object:
        return None if value == "" else value


class AcademicSession(OneRosterRecord):
    title: str = Field(max_length=512)
    type: str = Field(min_length=1, max_length=64)
    start_date: str | None = Field(default=None, alias="startDate")
    end_date: str | None = Field(default=None, alias="endDate")
    parent: Ref | None = None


def sourced_id_of(raw: Any) -> str | None:
    """The sourcedId of a raw row, if it has a usable one (for reporting an invalid row)."""
    if isinstance(raw, dict):
        value = raw.get("sourcedId")
        if isinstance(value, str) and value.strip():
            return value
    return None
