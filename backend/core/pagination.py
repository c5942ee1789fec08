"""Page numbers and sizes, bounded."""

from __future__ import annotations

from dataclasses import dataclass, replace

from backend.core.bounds import PAGE_MAX
from backend.core.errors import Invalid
from backend.core.i18n import N_


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
    def has_next(self) -> bool:
        return self.total is not None and self.number < self.pages

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    def with_total(self, total: int) -> Page:
        return replace(self, total=total)
