"""The organizations' verified figures, maintained as deliveries, hours and ledgers change.

Each *part* of an organization's work has a contribution (``models.OrgFigurePart``): a need it
delivered to (one fulfilled need, the household, the money the household confirmed receiving),
an approved hours log (its minutes), a project (its approved disbursements). The outbox
handlers (``handlers.py``) recount the part an event is about from the database, compare it
with the stored contribution and add the difference to the organization's totals
(``org_figures``) and, for a need, to the (organization, household) count that makes
"households helped" a count of distinct households. Recounting rather than replaying the event
makes a handler correct whatever the order of events and harmless if it runs again.

Locks: the organization's ``org_figures`` row is locked first (created at zero when missing),
so two jobs about one organization take turns; a handler touching several organizations takes
them in id order. The pages read one row per organization (``repository.figures``,
``repository.ranking``); ``rebuild`` recounts everything (migration, ``tongxin seed-scale``, the
demo seeders); ``tests/organizations/test_org_figures.py`` checks after random changes and
replayed events that the maintained rows equal a rebuild.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.organizations import repository as repo
from backend.organizations.models import OrgFigureHousehold, OrgFigurePart, OrgFigures
from backend.organizations.repository import Part

NEED, HOURS, PROJECT = "need", "hours", "project"

Recount = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[Part]]
RECOUNT: dict[str, Recount] = {
    NEED: repo.recount_need_part,
    HOURS: repo.recount_hours_part,
    PROJECT: repo.recount_project_part,
}


async def _add_household(
    session: AsyncSession, totals: OrgFigures, household_id: uuid.UUID, delta: int
) -> None:
    """One more (or one fewer) fulfilled need of this household for the organization; the
    household counts as helped while it has at least one."""
    row = await repo.stored_household(session, totals.organization_id, household_id)
    before = row.needs if row is not None else 0
    after = before + delta
    if row is None:
        session.add(
            OrgFigureHousehold(
                organization_id=totals.organization_id, household_id=household_id, needs=after
            )
        )
    elif after == 0:
        await session.delete(row)
    else:
        row.needs = after
    totals.households += (after > 0) - (before > 0)


async def refresh_part(
    session: AsyncSession, org_id: uuid.UUID, kind: str, part_id: uuid.UUID
) -> None:
    """Bring one part's contribution to the organization's figures up to date."""
    totals = await repo.lock_org_figures(session, org_id)
    stored = await repo.stored_part(session, org_id, kind, part_id)
    old = (
        Part(stored.household_id, stored.needs, stored.minutes, stored.funds_fen)
        if stored is not None
        else Part()
    )
    new = await RECOUNT[kind](session, org_id, part_id)
    if new == old:
        return
    totals.needs += new.needs - old.needs
    totals.minutes += new.minutes - old.minutes
    totals.funds_fen += new.funds_fen - old.funds_fen
    if (old.household_id, old.needs) != (new.household_id, new.needs):
        if old.household_id is not None and old.needs:
            await _add_household(session, totals, old.household_id, -1)
        if new.household_id is not None and new.needs:
            await _add_household(session, totals, new.household_id, +1)
    if not new.counts:
        if stored is not None:
            await session.delete(stored)
    elif stored is None:
        session.add(
            OrgFigurePart(
                organization_id=org_id,
                kind=kind,
                part_id=part_id,
                household_id=new.household_id,
                needs=new.needs,
                minutes=new.minutes,
                funds_fen=new.funds_fen,
            )
        )
    else:
        stored.household_id, stored.needs = new.household_id, new.needs
        stored.minutes, stored.funds_fen = new.minutes, new.funds_fen
    await session.flush()


async def refresh_need(session: AsyncSession, need_id: uuid.UUID) -> None:
    """A need changed (delivered to, confirmed, edited): its part for every organization that
    has a fulfilment of it, in id order."""
    for org_id in await repo.orgs_of_need(session, need_id):
        await refresh_part(session, org_id, NEED, need_id)


async def refresh_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    found = await repo.need_of_delivery(session, delivery_id)
    if found is not None:
        await refresh_part(session, found[0], NEED, found[1])


async def refresh_hours(session: AsyncSession, log_id: uuid.UUID) -> None:
    org_id = await repo.org_of_hours(session, log_id)
    if org_id is not None:
        await refresh_part(session, org_id, HOURS, log_id)


async def refresh_task(session: AsyncSession, task_id: uuid.UUID) -> None:
    """Attendance recorded on a task writes approved hours: each of its logs, in key order."""
    for org_id, log_id in await repo.hours_of_task(session, task_id):
        await refresh_part(session, org_id, HOURS, log_id)


async def refresh_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    org_id = await repo.org_of_project(session, project_id)
    if org_id is not None:
        await refresh_part(session, org_id, PROJECT, project_id)


async def rebuild(session: AsyncSession) -> None:
    await repo.rebuild_org_figures(session)
