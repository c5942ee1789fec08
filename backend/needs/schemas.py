"""The public projection of a need, and the caseworker's need input.

:class:`PublicNeed` is the ONLY shape in which a need leaves the households/needs modules:
public pages, the public API, the search index and job payloads are built from it. It is a
separate frozen type, not a filtered model: it has no field that could hold personal data
(no household id, no name, phone, address or ID number, no exact region, no ages). Its
location and profile are the k-anonymous generalisations computed when the need was published.

Build instances only through :func:`backend.needs.repository.public_needs` /
:func:`backend.needs.repository.public_need`, which select exactly the public columns listed in
:data:`PUBLIC_COLUMNS` and nothing else. Other domains (search, organizations) import
``PublicNeed`` and those two functions.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import msgspec

from backend.core.bounds import AmountFen, Code, Quantity, Text, Title, Unit

#: Need states in which a need is shown publicly (unless hidden: verification or consent lapsed).
PUBLIC_STATES = ("published", "reserved", "in_progress", "delivered", "confirmed", "closed")


class PublicProfile(msgspec.Struct, frozen=True):
    """The household described only as the k-anonymous generalisation allows.

    ``age_bands``: 5-year (or coarser) bands, members under 14 only as "child"; empty when ages
    were generalised away. ``size_band``: "1", "2", "3–4", "5+" or ``None``. ``flags``: member
    flags (disabled, seriously_ill, …) that gate eligibility for some offers.
    """

    age_bands: tuple[str, ...] = ()
    size_band: str | None = None
    flags: tuple[str, ...] = ()
    location_level: str = "city"


class PublicNeed(msgspec.Struct, frozen=True, kw_only=True):
    """A need as anyone may see it. No personal field at all (docs/privacy.md, rule 2).

    ``region_code``/``region_names`` are the *generalised* location (community, township, county
    or city), root first. ``helper_organization`` is the name of the organization that claimed
    the need, once one did.
    """

    id: uuid.UUID
    category: str
    category_name_zh: str
    category_name_en: str
    title: str
    body: str
    quantity: int | None
    unit: str
    amount_fen: int | None
    pledged: int
    delivered: int
    urgency: str
    deadline: date | None
    state: str
    region_code: str
    region_codes: tuple[str, ...]
    region_names: tuple[str, ...]
    profile: PublicProfile
    published_at: datetime | None
    helper_organization: str | None

    @property
    def region_name(self) -> str:
        return "".join(self.region_names[1:]) or "".join(self.region_names)

    def category_name(self, locale: str) -> str:
        return self.category_name_zh if locale == "zh_CN" else self.category_name_en


class PublicNeedPage(msgspec.Struct, frozen=True):
    """``total`` is exact up to 10,000; above that ``total_capped`` is true and ``total`` and
    ``pages`` count the first 10,000 (lists never count a whole table)."""

    items: list[PublicNeed]
    page: int
    pages: int
    total: int
    total_capped: bool = False


def public_profile(data: dict[str, Any] | None) -> PublicProfile:
    """The stored ``needs.public_profile`` JSON → :class:`PublicProfile` (unknown keys dropped)."""
    data = data or {}
    return PublicProfile(
        age_bands=tuple(str(b) for b in data.get("age_bands", ())),
        size_band=str(data["size_band"]) if data.get("size_band") else None,
        flags=tuple(str(f) for f in data.get("flags", ())),
        location_level=str(data.get("location_level", "city")),
    )


class NeedIn(msgspec.Struct, kw_only=True):
    """What a caseworker drafts. ``amount_fen`` for amount categories, quantity+unit otherwise."""

    category: Code
    title: Title
    body: Text = ""
    quantity: Quantity | None = None
    unit: Unit = ""
    amount_fen: AmountFen | None = None
    urgency: Code = "normal"
    deadline: date | None = None
    #: Code of an item kind of the category; inferred from the title when absent.
    item_kind: str | None = None


class PublishBlock(msgspec.Struct, frozen=True):
    """One personal-data finding in a field of the public text (offsets into that field)."""

    field: str
    kind: str
    start: int
    end: int


class NeedProgress(msgspec.Struct, frozen=True, kw_only=True):
    """How far a need is: what it asks for, what organizations pledged, what was delivered.

    ``total`` is a quantity in ``unit`` (the need's unit, else its item kind's default unit),
    or an amount in fen when ``is_amount``; ``None`` for a need taken as a whole (pledged is
    then 0 or 1). Public: numbers and a unit only.
    """

    total: int | None
    pledged: int
    delivered: int
    unit: str
    is_amount: bool

    @property
    def owed(self) -> int | None:
        return None if self.total is None else max(0, self.total - self.pledged)

    @property
    def percent(self) -> int:
        if self.total is None:
            return 100 if self.pledged else 0
        return min(100, self.pledged * 100 // self.total) if self.total else 0

    @property
    def delivered_percent(self) -> int:
        if self.total is None:
            return 100 if self.delivered else 0
        return min(100, self.delivered * 100 // self.total) if self.total else 0
