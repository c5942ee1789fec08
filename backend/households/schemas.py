"""Households input and caseworker-facing output. Personal values appear here only masked,
except in :class:`Revealed`, which the service builds after auditing the reveal."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from backend.core.bounds import Ages, Code, Codes, RegionCode, ShortText, Text

PERSONAL_FIELDS = ("head_name", "id_number", "phone", "address")
DIMENSIONS = ("economic", "health", "education", "housing", "employment", "social")


class HouseholdIn(msgspec.Struct, kw_only=True):
    head_name: ShortText
    id_number: Code
    region_code: RegionCode
    category: Code
    phone: Code = ""
    address: ShortText = ""
    member_ages: Ages = msgspec.field(default_factory=list)
    flags: Codes = msgspec.field(default_factory=list)
    unstable_income: bool = False
    referral_id: uuid.UUID | None = None


class HouseholdSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the caseworker's list: personal fields masked."""

    id: uuid.UUID
    head_name: str
    id_number: str
    phone: str
    region_code: str
    region_name: str
    category: str
    member_count: int
    flags: list[str]
    verified_until: date | None
    verification: str  # valid | lapsed | none
    vulnerability: float | None
    created_at: datetime


class HouseholdPage(msgspec.Struct, frozen=True):
    items: list[HouseholdSummary]
    page: int
    pages: int
    total: int


class Revealed(msgspec.Struct, frozen=True):
    household_id: uuid.UUID
    fields: dict[str, str]


class RevealIn(msgspec.Struct):
    fields: Codes = msgspec.field(default_factory=lambda: list(PERSONAL_FIELDS))


class ReferralIn(msgspec.Struct):
    region_code: RegionCode
    text: Text
    contact: ShortText = ""


class ReferralOut(msgspec.Struct, frozen=True):
    """What the referrer sees: the state only, never what caseworkers did with it."""

    id: uuid.UUID
    region_code: str
    state: str
    created_at: datetime


class CodeCheck(msgspec.Struct, frozen=True):
    """A successful 幸福码 + PIN check: which household (by id only) and its region."""

    household_id: uuid.UUID
    region_code: str
