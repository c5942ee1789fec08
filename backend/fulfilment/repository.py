"""Every query of fulfilment: deliveries with their need and organization, feedback, the
household's record, visit schedules and quarterly lists (region-scoped by the callers' paths)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, User
from backend.core.pagination import capped_count
from backend.fulfilment.models import (
    Delivery,
    DeliveryState,
    Feedback,
    Fulfilment,
    QuarterlyList,
    Visit,
    VisitSchedule,
)
from backend.households.enums import HouseholdStatus
from backend.households.models import AssistanceRecord, Household
from backend.needs.models import Need
from backend.projects.models import Project, ProjectNeed
from backend.regions.models import Region
from backend.regions.repository import in_subtrees
from backend.resources.models import Claim, ClaimState


async def fulfilment_of_claim(session: AsyncSession, claim_id: uuid.UUID) -> Fulfilment | None:
    return (
        await session.scalars(select(Fulfilment).where(Fulfilment.claim_id == claim_id))
    ).first()


async def need_id_of_fulfilment(
    session: AsyncSession, fulfilment_id: uuid.UUID
) -> uuid.UUID | None:
    """The need of a fulfilment, read without locking (to lock the need first)."""
    return await session.scalar(select(Fulfilment.need_id).where(Fulfilment.id == fulfilment_id))


async def fulfilment_for_update(
    session: AsyncSession, fulfilment_id: uuid.UUID
) -> Fulfilment | None:
    return (
        await session.scalars(
            select(Fulfilment).where(Fulfilment.id == fulfilment_id).with_for_update()
        )
    ).first()


async def delivery_for_update(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    return (
        await session.scalars(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
    ).first()


async def delivery_full(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[Delivery, Fulfilment, Need, Organization, str] | None:
    """The delivery with its fulfilment, need, organization and the need's region path."""
    row = (
        await session.execute(
            select(Delivery, Fulfilment, Need, Organization, Region.path)
            .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
            .join(Need, Need.id == Fulfilment.need_id)
            .join(Organization, Organization.id == Fulfilment.organization_id)
            .join(Region, Region.code == Need.region_code)
            .where(Delivery.id == delivery_id)
        )
    ).first()
    return (row[0], row[1], row[2], row[3], row[4]) if row else None


async def fulfilment_full(
    session: AsyncSession, fulfilment_id: uuid.UUID
) -> tuple[Fulfilment, Need, Organization] | None:
    row = (
        await session.execute(
            select(Fulfilment, Need, Organization)
            .join(Need, Need.id == Fulfilment.need_id)
            .join(Organization, Organization.id == Fulfilment.organization_id)
            .where(Fulfilment.id == fulfilment_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def deliveries_of(session: AsyncSession, fulfilment_id: uuid.UUID) -> Sequence[Delivery]:
    return (
        await session.scalars(
            select(Delivery)
            .where(Delivery.fulfilment_id == fulfilment_id)
            .order_by(Delivery.delivered_on, Delivery.created_at)
        )
    ).all()


async def counted_quantity(
    session: AsyncSession, fulfilment_id: uuid.UUID, *, confirmed_only: bool
) -> int:
    states = (
        [DeliveryState.CONFIRMED]
        if confirmed_only
        else [DeliveryState.CONFIRMED, DeliveryState.RECORDED]
    )
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(Delivery.quantity), 0)).where(
                Delivery.fulfilment_id == fulfilment_id, Delivery.state.in_(states)
            )
        )
        or 0
    )


async def feedback_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Feedback]:
    if not delivery_ids:
        return {}
    rows = await session.scalars(select(Feedback).where(Feedback.delivery_id.in_(delivery_ids)))
    return {f.delivery_id: f for f in rows}


async def org_work(
    session: AsyncSession, org_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[tuple[Claim, Need, Fulfilment | None]], int]:
    """Active claims of the organization, with their fulfilment once one is open."""
    query = (
        select(Claim, Need, Fulfilment)
        .join(Need, Need.id == Claim.need_id)
        .outerjoin(Fulfilment, Fulfilment.claim_id == Claim.id)
        .where(
            Claim.organization_id == org_id,
            Claim.state.in_([ClaimState.ACTIVE, ClaimState.FULFILLED]),
        )
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(Claim.created_at.desc()).offset(offset).limit(limit)
    )
    return [(c, n, f) for c, n, f in rows.all()], total


async def match_fulfilments(
    session: AsyncSession, org_id: uuid.UUID
) -> Sequence[tuple[Fulfilment, Need]]:
    rows = await session.execute(
        select(Fulfilment, Need)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Fulfilment.organization_id == org_id, Fulfilment.match_id.is_not(None))
        .order_by(Fulfilment.created_at.desc())
        .limit(50)
    )
    return [(f, n) for f, n in rows.all()]


async def org_feedback(
    session: AsyncSession, org_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[tuple[Feedback, Delivery]], int]:
    query = (
        select(Feedback, Delivery)
        .join(Delivery, Delivery.id == Feedback.delivery_id)
        .where(Feedback.organization_id == org_id)
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(Feedback.created_at.desc()).offset(offset).limit(limit)
    )
    return [(f, d) for f, d in rows.all()], total


async def disputed(
    session: AsyncSession, paths: Sequence[str], state: DeliveryState = DeliveryState.DISPUTED
) -> Sequence[tuple[Delivery, Need, Organization]]:
    """Deliveries in ``state`` (disputed: "not received"; recorded: waiting for confirmation)."""
    rows = await session.execute(
        select(Delivery, Need, Organization)
        .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
        .join(Need, Need.id == Fulfilment.need_id)
        .join(Organization, Organization.id == Fulfilment.organization_id)
        .where(Delivery.state == state, in_subtrees(Need.region_code, paths))
        .order_by(Delivery.updated_at.desc())
        .limit(200)
    )
    return [(d, n, o) for d, n, o in rows.all()]


async def count_deliveries(
    session: AsyncSession, paths: Sequence[str], state: DeliveryState, *, cap: int | None = None
) -> int:
    """Capped count of the deliveries in ``state`` under the caseworker's regions."""
    query = (
        select(Delivery.id)
        .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Delivery.state == state, in_subtrees(Need.region_code, paths))
    )
    return await session.scalar(capped_count(query, cap)) or 0


async def household_deliveries(
    session: AsyncSession, household_id: uuid.UUID
) -> Sequence[tuple[Delivery, Need, Organization]]:
    rows = await session.execute(
        select(Delivery, Need, Organization)
        .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
        .join(Need, Need.id == Fulfilment.need_id)
        .join(Organization, Organization.id == Fulfilment.organization_id)
        .where(Need.household_id == household_id)
        .order_by(Delivery.delivered_on.desc(), Delivery.created_at.desc())
    )
    return [(d, n, o) for d, n, o in rows.all()]


async def records(
    session: AsyncSession,
    household_id: uuid.UUID,
    *,
    start: date | None = None,
    end: date | None = None,
) -> Sequence[AssistanceRecord]:
    query = select(AssistanceRecord).where(AssistanceRecord.household_id == household_id)
    if start is not None:
        query = query.where(AssistanceRecord.occurred_on >= start)
    if end is not None:
        query = query.where(AssistanceRecord.occurred_on <= end)
    return (
        await session.scalars(
            query.order_by(AssistanceRecord.occurred_on, AssistanceRecord.created_at)
        )
    ).all()


async def project_of_need(session: AsyncSession, need_id: uuid.UUID) -> Project | None:
    return (
        await session.scalars(
            select(Project)
            .join(ProjectNeed, ProjectNeed.project_id == Project.id)
            .where(ProjectNeed.need_id == need_id)
        )
    ).first()


async def project_need_counts(session: AsyncSession, project_id: uuid.UUID) -> tuple[int, int]:
    """(linked needs, of which closed)."""
    row = (
        await session.execute(
            select(func.count(), func.count().filter(Need.state == "closed"))
            .select_from(ProjectNeed)
            .join(Need, Need.id == ProjectNeed.need_id)
            .where(ProjectNeed.project_id == project_id)
        )
    ).one()
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------- households (ids, regions, status only)


def _still_served(now: datetime) -> object:
    """Active households, and those that left assistance less than a year ago."""
    from datetime import timedelta

    return or_(
        Household.status == HouseholdStatus.ACTIVE, Household.left_at >= now - timedelta(days=365)
    )


async def household_ids_under(
    session: AsyncSession, root_path: str, now: datetime
) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(Household.id)
            .join(Region, Region.code == Household.region_code)
            .where(in_subtrees(Household.region_code, [root_path]), _still_served(now))  # type: ignore[arg-type]
            .order_by(Region.path, Household.created_at)
        )
    ).all()


async def schedule_of(session: AsyncSession, household_id: uuid.UUID) -> VisitSchedule | None:
    return (
        await session.scalars(
            select(VisitSchedule)
            .where(VisitSchedule.household_id == household_id)
            .with_for_update()
        )
    ).first()


async def visits_of(session: AsyncSession, household_id: uuid.UUID) -> Sequence[tuple[Visit, str]]:
    rows = await session.execute(
        select(Visit, User.display_name)
        .join(User, User.id == Visit.visitor_id)
        .where(Visit.household_id == household_id)
        .order_by(Visit.visited_on.desc())
        .limit(50)
    )
    return [(v, n) for v, n in rows.all()]


def _visits_due(
    query: Any, paths: Sequence[str], today: date, now: datetime, due_by: date | None
) -> Any:
    """Schedules overdue (``due_by`` None: next visit before today) or due from today to
    ``due_by``, of households still served in the caseworker's regions."""
    window = (
        VisitSchedule.next_due < today
        if due_by is None
        else VisitSchedule.next_due.between(today, due_by)
    )
    return query.where(
        window,
        or_(VisitSchedule.ends_on.is_(None), VisitSchedule.ends_on >= today),
        in_subtrees(Household.region_code, paths),
        _still_served(now),
    )


async def count_visits(
    session: AsyncSession,
    paths: Sequence[str],
    today: date,
    now: datetime,
    due_by: date | None,
    *,
    cap: int | None = None,
) -> int:
    query = select(VisitSchedule.id).join(Household, Household.id == VisitSchedule.household_id)
    query = _visits_due(query, paths, today, now, due_by)
    return await session.scalar(capped_count(query, cap)) or 0


async def overdue(
    session: AsyncSession,
    paths: Sequence[str],
    today: date,
    now: datetime,
    *,
    offset: int,
    limit: int,
    due_by: date | None = None,
) -> tuple[Sequence[tuple[VisitSchedule, Household, str]], int]:
    query = _visits_due(
        select(VisitSchedule, Household, Region.name)
        .join(Household, Household.id == VisitSchedule.household_id)
        .join(Region, Region.code == Household.region_code),
        paths,
        today,
        now,
        due_by,
    )
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.execute(query.order_by(VisitSchedule.next_due).offset(offset).limit(limit))
    return [(s, h, n) for s, h, n in rows.all()], total


async def assigned_to(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[VisitSchedule, Household, str]]:
    rows = await session.execute(
        select(VisitSchedule, Household, Region.name)
        .join(Household, Household.id == VisitSchedule.household_id)
        .join(Region, Region.code == Household.region_code)
        .where(VisitSchedule.assignee_id == user_id)
        .order_by(VisitSchedule.next_due)
        .limit(200)
    )
    return [(s, h, n) for s, h, n in rows.all()]


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.scalars(select(User).where(func.lower(User.email) == email.strip().lower()))
    ).first()


async def list_for_update(
    session: AsyncSession, household_id: uuid.UUID, quarter: str
) -> QuarterlyList | None:
    return (
        await session.scalars(
            select(QuarterlyList)
            .where(QuarterlyList.household_id == household_id, QuarterlyList.quarter == quarter)
            .with_for_update()
        )
    ).first()


async def list_with_path(
    session: AsyncSession, list_id: uuid.UUID
) -> tuple[QuarterlyList, str] | None:
    row = (
        await session.execute(
            select(QuarterlyList, Region.path)
            .join(Household, Household.id == QuarterlyList.household_id)
            .join(Region, Region.code == Household.region_code)
            .where(QuarterlyList.id == list_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


def _lists_query(root_paths: Sequence[str], quarter: str, pending: bool) -> Any:
    query = (
        select(QuarterlyList, Region.name, Household.code_tail)
        .join(Household, Household.id == QuarterlyList.household_id)
        .join(Region, Region.code == Household.region_code)
        .where(QuarterlyList.quarter == quarter, in_subtrees(Household.region_code, root_paths))
    )
    if pending:
        query = query.where(
            QuarterlyList.generated_at.is_not(None), QuarterlyList.handed_over_at.is_(None)
        )
    return query


# print order: community by community (region path), each household in registration order,
# the order the batch generated them in (household_ids_under)
_PRINT_ORDER = (Region.path, Household.created_at, Household.id)


async def lists_under(
    session: AsyncSession,
    root_path: str,
    quarter: str,
    *,
    offset: int,
    limit: int,
    pending: bool = False,
) -> tuple[Sequence[tuple[QuarterlyList, str, str | None]], int]:
    """A region's lists of the quarter, in print order: (list, community name, code tail)."""
    query = _lists_query([root_path], quarter, pending)
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.execute(query.order_by(*_PRINT_ORDER).offset(offset).limit(limit))
    return [(q, n, t) for q, n, t in rows.all()], total


async def lists_to_print(
    session: AsyncSession, root_path: str, quarter: str, *, limit: int
) -> Sequence[QuarterlyList]:
    """The generated lists of a region and quarter, in print order (for one combined PDF)."""
    query = _lists_query([root_path], quarter, False).where(QuarterlyList.file_path.is_not(None))
    rows = await session.execute(query.order_by(*_PRINT_ORDER).limit(limit))
    return [q for q, _, _ in rows.all()]


async def count_lists_pending(
    session: AsyncSession, paths: Sequence[str], quarter: str, *, cap: int | None = None
) -> int:
    """Lists of the quarter generated but not yet handed over, under the caseworker's regions."""
    query = (
        select(QuarterlyList.id)
        .join(Household, Household.id == QuarterlyList.household_id)
        .where(
            QuarterlyList.quarter == quarter,
            QuarterlyList.generated_at.is_not(None),
            QuarterlyList.handed_over_at.is_(None),
            in_subtrees(Household.region_code, paths),
        )
    )
    return await session.scalar(capped_count(query, cap)) or 0


async def coverage(
    session: AsyncSession, root_path: str, quarter: str, now: datetime
) -> Sequence[tuple[str, str, int, int, int]]:
    """Per community (or township): code, name, households, lists generated, lists handed over."""
    lists = (
        select(QuarterlyList.household_id, QuarterlyList.generated_at, QuarterlyList.handed_over_at)
        .where(QuarterlyList.quarter == quarter)
        .subquery()
    )
    rows = await session.execute(
        select(
            Region.code,
            Region.name,
            func.count(Household.id),
            func.count(lists.c.generated_at),
            func.count(lists.c.handed_over_at),
        )
        .select_from(Household)
        .join(Region, Region.code == Household.region_code)
        .outerjoin(lists, lists.c.household_id == Household.id)
        .where(in_subtrees(Household.region_code, [root_path]), _still_served(now))  # type: ignore[arg-type]
        .group_by(Region.code, Region.name, Region.path)
        .order_by(Region.path)
    )
    return [(c, n, int(h), int(g), int(d)) for c, n, h, g, d in rows.all()]
