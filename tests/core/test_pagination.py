"""Capped counts: a list counts at most COUNT_CAP rows and says "more than" above that."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.core import pagination
from backend.core.pagination import Page, capped_count
from backend.regions.models import Region


def test_page_below_and_above_the_cap() -> None:
    exact = Page(number=2, size=20).with_total(45)
    assert (exact.capped, exact.shown_total, exact.pages, exact.shown_pages) == (False, 45, 3, 3)
    capped = Page(number=7, size=20).with_total(pagination.COUNT_CAP + 1)
    assert capped.capped
    assert capped.shown_total == pagination.COUNT_CAP
    assert capped.shown_pages == pagination.COUNT_CAP // 20
    assert capped.has_next


async def test_capped_count_stops_after_the_cap(
    db: Any, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = select(Region.code)
    total = len((await db.scalars(everything)).all())
    assert await db.scalar(capped_count(everything)) == total
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    assert await db.scalar(capped_count(everything)) == 4  # "more than 3"
