"""The fairness figures, maintained as households, needs and matches change.

Each household and each need has a *contribution*: the cells of ``fairness_cells`` it counts
in (an active household: its county's ``households`` cell and the days of its two latest accepted
matches; a published need: the day it was published). The outbox handlers (``backend/matches/handlers.py``) recompute the
contribution of the object an event is about from the database, compare it with the stored one
(``fairness_households`` / ``fairness_needs``, row-locked so two jobs about one object take turns)
and add the difference to the cells. Recomputing rather than replaying the event makes a handler
correct whatever the order of events and harmless if it ran again.

The page then sums a few hundred cells per city (``repository.fairness_figures``): "helped at
least once in the last 365 days" is the sum of ``latest_help`` cells from that day on, so the
window slides without any job. ``rebuild`` recounts everything (migration, ``tongxin seed-scale``,
after a restore of old data); ``tests/matches/test_fairness_figures.py`` checks after random
changes that the maintained cells equal a rebuild.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.matches import repository as repo

SHANGHAI = ZoneInfo("Asia/Shanghai")
Cell = tuple[str, str, date]


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def household_cells(county: str | None, latest: date | None, second: date | None) -> Counter[Cell]:
    if county is None:
        return Counter()
    cells: Counter[Cell] = Counter({(county, "households", repo.EPOCH): 1})
    if latest is not None:
        cells[(county, "latest_help", latest)] += 1
    if second is not None:
        cells[(county, "second_help", second)] += 1
    return cells


def need_cells(county: str | None, published: date | None) -> Counter[Cell]:
    if county is None or published is None:
        return Counter()
    return Counter({(county, "published", published): 1})


def _difference(new: Counter[Cell], old: Counter[Cell]) -> dict[Cell, int]:
    return {
        cell: new[cell] - old[cell] for cell in new.keys() | old.keys() if new[cell] != old[cell]
    }


async def refresh_household(session: AsyncSession, household_id: uuid.UUID) -> None:
    """Bring the household's contribution up to date (it may have been registered, moved,
    left assistance, been deleted, or been helped)."""
    stored = await repo.lock_fairness_household(session, household_id)
    county, helped = await repo.household_for_fairness(session, household_id)
    days = [local_day(t) for t in helped]
    latest = days[0] if days else None
    second = days[1] if len(days) > 1 else None
    delta = _difference(
        household_cells(county, latest, second),
        household_cells(stored.county_code, stored.latest_help, stored.second_help),
    )
    await repo.add_to_cells(session, delta)
    if county is None:
        await session.delete(stored)
    else:
        stored.county_code, stored.latest_help, stored.second_help = county, latest, second
    await session.flush()


async def refresh_need(session: AsyncSession, need_id: uuid.UUID) -> None:
    """Bring the need's contribution up to date (published, or no longer)."""
    stored = await repo.lock_fairness_need(session, need_id)
    county, published_at = await repo.need_for_fairness(session, need_id)
    published = local_day(published_at) if published_at is not None else None
    delta = _difference(
        need_cells(county, published), need_cells(stored.county_code, stored.published_day)
    )
    await repo.add_to_cells(session, delta)
    if county is None:
        await session.delete(stored)
    else:
        stored.county_code, stored.published_day = county, published
    await session.flush()


async def rebuild(session: AsyncSession) -> None:
    await repo.rebuild_fairness(session)


async def household_of_match(session: AsyncSession, match_id: uuid.UUID) -> uuid.UUID | None:
    return await repo.household_of_match(session, match_id)
