"""Input and output structs of resources and claims; the public projection of a resource."""

from __future__ import annotations

import uuid
from datetime import date

import msgspec

from backend.core.bounds import (
    Code,
    Codes,
    Count,
    Description,
    Quantity,
    RegionCodes,
    Text,
    Title,
    Unit,
)


class Eligibility(msgspec.Struct, omit_defaults=True):
    """Eligibility rules stored as data in ``Resource.eligibility``."""

    categories: Codes = msgspec.field(default_factory=list)  # allowed assistance categories
    flags: Codes = msgspec.field(default_factory=list)  # required household member flags
    max_per_household: Count | None = None


class PublicResource(msgspec.Struct):
    """What anyone may see of a resource: no personal field exists on it."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    kind: str
    category: str
    title: str
    description: str
    unit: str
    capacity: int
    remaining: int
    service_area: list[str]
    eligibility: Eligibility
    available_from: date | None
    available_until: date | None
    state: str
    #: Item kind code and how it was set: "given" (named by the organization) or "inferred" /
    #: "unsure" (found in the title) or "confirmed".
    item_kind: str | None = None
    item_kind_source: str = "inferred"


class ResourcePage(msgspec.Struct):
    items: list[PublicResource]
    page: int
    pages: int
    total: int


class ResourceIn(msgspec.Struct):
    organization_id: uuid.UUID
    kind: Code
    category: Code
    title: Title
    capacity: Quantity
    service_area: RegionCodes
    unit: Unit = ""
    description: Description = ""
    eligibility: Eligibility = msgspec.field(default_factory=Eligibility)
    available_from: date | None = None
    available_until: date | None = None
    #: Code of an item kind of the category; inferred from the title when absent.
    item_kind: str | None = None


class ClaimIn(msgspec.Struct):
    need_id: uuid.UUID
    organization_id: uuid.UUID
    resource_id: uuid.UUID | None = None
    quantity: Quantity | None = None


class ReleaseIn(msgspec.Struct):
    reason: Text


class ClaimOut(msgspec.Struct):
    id: uuid.UUID
    need_id: uuid.UUID
    organization_id: uuid.UUID
    resource_id: uuid.UUID | None
    quantity: int
    state: str
    need_state: str
    need_total: int | None
    need_pledged: int


class NeedSummary(msgspec.Struct):
    """The public face of a need as organizations see it before and while claiming it."""

    id: uuid.UUID
    title: str
    body: str
    category: str
    region_code: str
    urgency: str
    state: str
    unit: str
    total: int | None
    pledged: int
    is_amount: bool
    deadline: date | None

    @property
    def owed(self) -> int | None:
        return None if self.total is None else max(0, self.total - self.pledged)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.state != "published" else 0
        return min(100, self.pledged * 100 // self.total)
