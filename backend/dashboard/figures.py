"""The dashboard's figures, maintained as needs, claims, deliveries, matches and households change.

Each need and each active household has a *contribution*: the cells of ``dashboard_cells`` it
counts in (a need: the week it was published, its claims, deliveries and confirmations; the day
of each of those per organization; its category's fill cell; its days to confirmation; and,
while it waits, its township's and emergencies' hour cells and its proposals' hour cells; a
household: its county and the days of its two latest confirmed deliveries). The outbox
handlers (``backend/dashboard/handlers.py``) recompute the contribution of the object an event
is about from the database, compare it with the stored one (``dashboard_needs`` /
``dashboard_households``, row-locked so two jobs about one object take turns) and add the
difference to the cells in one statement, cells in key order. Recomputing rather than replaying
the event makes a handler correct whatever the order of events and harmless if it ran again.

The page sums the cells of its area (``repository.cells_by``); windows slide by themselves
because every cell is one week, day, month or hour. ``rebuild`` recounts everything (migration,
``tongxin seed-scale``, the demo seeders); ``tests/dashboard/test_dashboard_figures.py`` checks
after random changes that the maintained cells equal a rebuild and that the page's figures
equal the recount queries.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.dashboard import repository as repo

SHANGHAI = ZoneInfo("Asia/Shanghai")
CellKey = repo.CellKey


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def household_cells(
    county: str | None, latest: date | None, second: date | None
) -> Counter[CellKey]:
    if county is None:
        return Counter()
    cells: Counter[CellKey] = Counter({(county, "households", repo.EPOCH, ""): 1})
    for metric, day in (("help_latest", latest), ("help_second", second)):
        if day is not None:
            cells[(county, metric, _midnight(day), "")] += 1
            cells[(county, f"{metric}/m", _midnight(day.replace(day=1)), "")] += 1
    return cells


def _stored_need_cells(county: str | None, stored: list[Any]) -> Counter[CellKey]:
    if county is None:
        return Counter()
    return Counter(
        {
            (county, str(m), datetime.fromisoformat(str(at)), str(k)): int(n)
            for m, at, k, n in stored
        }
    )


def _difference(new: Counter[CellKey], old: Counter[CellKey]) -> dict[CellKey, int]:
    return {
        cell: new[cell] - old[cell] for cell in new.keys() | old.keys() if new[cell] != old[cell]
    }


async def _need_delta(session: AsyncSession, need_id: uuid.UUID) -> dict[CellKey, int]:
    stored = await repo.lock_need(session, need_id)
    rows = await repo.need_cells(session, need_id)
    new: Counter[CellKey] = Counter(rows)
    county = rows[0][0] if rows else None
    delta = _difference(new, _stored_need_cells(stored.county_code, stored.cells))
    if county is None:
        await session.delete(stored)
    else:
        stored.county_code = county
        stored.cells = [[m, at.isoformat(), k, n] for (_c, m, at, k), n in sorted(new.items())]
    return delta


async def _household_delta(session: AsyncSession, household_id: uuid.UUID) -> dict[CellKey, int]:
    stored = await repo.lock_household(session, household_id)
    county, latest, second = await repo.household_help(session, household_id)
    delta = _difference(
        household_cells(county, latest, second),
        household_cells(stored.county_code, stored.latest_help, stored.second_help),
    )
    if county is None:
        await session.delete(stored)
    else:
        stored.county_code, stored.latest_help, stored.second_help = county, latest, second
    return delta


def _merge(*deltas: dict[CellKey, int]) -> dict[CellKey, int]:
    total: Counter[CellKey] = Counter()
    for delta in deltas:
        total.update(delta)
    return dict(total)


async def refresh_need(session: AsyncSession, need_id: uuid.UUID) -> None:
    """Bring a need's contribution (and its household's) up to date: it may have been
    published, claimed, delivered, confirmed, proposed, withdrawn, edited or deleted."""
    household_id = await repo.household_of_need(session, need_id)
    deltas = [await _need_delta(session, need_id)]
    if household_id is not None:
        deltas.append(await _household_delta(session, household_id))
    await repo.add_to_cells(session, _merge(*deltas))
    await session.flush()


async def refresh_household(session: AsyncSession, household_id: uuid.UUID) -> None:
    """Bring a household's contribution up to date (registered, moved, left, deleted)."""
    await repo.add_to_cells(session, await _household_delta(session, household_id))
    await session.flush()


async def need_of(session: AsyncSession, kind: str, object_id: uuid.UUID) -> uuid.UUID | None:
    """The need an event is about (itself, or a match's, claim's, fulfilment's or delivery's)."""
    return object_id if kind == "need" else await repo.need_of(session, kind, object_id)


async def rebuild(session: AsyncSession) -> None:
    await repo.rebuild_dashboard(session)
