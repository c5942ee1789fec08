"""Page numbers and sizes, bounded; counts capped so a list never counts a whole table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVarTuple

from sqlalchemy import Select, func, select

from backend.core.bounds import PAGE_MAX
from backend.core.errors import Invalid
from backend.core.i18n import N_

_Ts = TypeVarTuple("_Ts")

#: Lists count at most this many rows (plus one, to know there are more): "10,000+".
COUNT_CAP = 10_000
#: Counts shown as a figure only (the caseworker start page's tiles) stop sooner: "1000+".
TILE_CAP = 1_000


def capped_count(query: Select[*_Ts], cap: int | None = None) -> Select[int]:
    """``count(*)`` of ``query`` stopped after ``cap + 1`` rows (``COUNT_CAP`` by default):
    constant work at any size.

    A result above the cap means "more than that" (see :attr:`Page.capped`).
    """
    limit = (COUNT_CAP if cap is None else cap) + 1
    return select(func.count()).select_from(query.limit(limit).subquery())


@dataclass(frozen=True)
class Page:
    number: int = 1
    size: int = 20
    total: int | None = None

    def __post_init__(self) -> None:
        if self.number > PAGE_MAX:
            raise Invalid(
                N_("There is no page {n}: pages go up to {max}."),
                fields={"page": "invalid"},
                n=self.number if self.number < 10**12 else "…",
                max=PAGE_MAX,
            )
        object.__setattr__(self, "number", max(1, self.number))
        object.__setattr__(self, "size", min(100, max(1, self.size)))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-(self.total or 0) // self.size))

    @property
    def capped(self) -> bool:
        """The total was counted only up to :data:`COUNT_CAP`: there are more."""
        return (self.total or 0) > COUNT_CAP

    @property
    def shown_total(self) -> int:
        return min(self.total or 0, COUNT_CAP)

    @property
    def shown_pages(self) -> int:
        """Pages of the counted part: "page 3 of more than 500" when capped."""
        return max(1, self.shown_total // self.size) if self.capped else self.pages

    @property
    def has_next(self) -> bool:
        return self.total is not None and self.number < self.pages

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    def with_total(self, total: int) -> Page:
        return replace(self, total=total)
