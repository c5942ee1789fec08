"""Queries of the coordinator dashboard: each one grouped in the database over one area.

Every query is limited to the coordinator's area (region subtrees, ``in_subtrees`` on the
indexed region path) and, except the live queues (waiting needs, emergencies, proposals), to a
time window; only grouped numbers come back to Python. ``roots`` is ``None`` for the platform
admin (every region).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import TIMESTAMP, Date, Float, case, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization
from backend.fulfilment.models import Delivery, Fulfilment
from backend.households.enums import HouseholdStatus
from backend.households.models import Household
from backend.matches.models import Match, MatchState
from backend.needs.models import Need, NeedCategory, NeedState, Urgency
from backend.regions.models import Region, RegionLevel
from backend.regions.repository import in_subtrees
from backend.resources.models import Claim

LOCAL_TZ = "Asia/Shanghai"
FILLED_STATES = (NeedState.DELIVERED, NeedState.CONFIRMED, NeedState.CLOSED)
OPEN_MATCH_STATES = (MatchState.PROPOSED, MatchState.APPROVED)


def _scoped(column: Any, roots: Sequence[str] | None) -> Any:
    return literal(True) if roots is None else in_subtrees(column, roots)


def _week(column: Any) -> Any:
    """Monday of the local (Asia/Shanghai) week of an aware UTC time."""
    return cast(func.date_trunc("week", func.timezone(LOCAL_TZ, column)), Date)


def _month(column: Any) -> Any:
    return cast(func.date_trunc("month", func.timezone(LOCAL_TZ, column)), Date)


def _days(later: Any, earlier: Any) -> Any:
    return cast(func.extract("epoch", later - earlier), Float) / 86400.0


# ---------------------------------------------------------------- regions


async def region_by_code(session: AsyncSession, code: str) -> Region | None:
    return (await session.scalars(select(Region).where(Region.code == code))).first()


async def counties(session: AsyncSession, roots: Sequence[str] | None) -> Sequence[Region]:
    """The counties in the area (a coordinator's picker: ~10 for a city, ~100 for a province)."""
    query = select(Region).where(Region.level == RegionLevel.COUNTY)
    if roots is not None:
        query = query.where(in_subtrees(Region.code, roots))
    return (await session.scalars(query.order_by(Region.path))).all()


async def regions_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, Region]:
    if not codes:
        return {}
    rows = await session.scalars(select(Region).where(Region.code.in_(list(codes))))
    return {r.code: r for r in rows}


async def categories(session: AsyncSession) -> Sequence[NeedCategory]:
    return (await session.scalars(select(NeedCategory).order_by(NeedCategory.sort_order))).all()


# ---------------------------------------------------------------- flow over time


async def weekly_flow(
    session: AsyncSession, roots: Sequence[str] | None, since: datetime
) -> list[tuple[str, date, int]]:
    """(step, week, count) for needs published, claims made, deliveries recorded and
    deliveries confirmed in the area since ``since``, by local week."""
    published = (
        select(literal("published").label("step"), _week(Need.published_at).label("week"))
        .where(Need.published_at >= since, _scoped(Need.region_code, roots))
        .subquery()
    )
    claimed = (
        select(literal("claimed").label("step"), _week(Claim.created_at).label("week"))
        .select_from(Claim)
        .join(Need, Need.id == Claim.need_id)
        .where(Claim.created_at >= since, _scoped(Need.region_code, roots))
        .subquery()
    )
    delivered = (
        select(
            literal("delivered").label("step"),
            cast(func.date_trunc("week", cast(Delivery.delivered_on, TIMESTAMP)), Date).label(
                "week"
            ),
        )
        .select_from(Delivery)
        .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(
            Delivery.delivered_on >= func.timezone(LOCAL_TZ, since),
            _scoped(Need.region_code, roots),
        )
        .subquery()
    )
    confirmed = (
        select(literal("confirmed").label("step"), _week(Delivery.confirmed_at).label("week"))
        .select_from(Delivery)
        .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Delivery.confirmed_at >= since, _scoped(Need.region_code, roots))
        .subquery()
    )
    parts = [
        select(q.c.step, q.c.week, func.count().label("n")).group_by(q.c.step, q.c.week)
        for q in (published, claimed, delivered, confirmed)
    ]
    rows = (await session.execute(union_all(*parts))).all()
    return [(str(step), week, int(n)) for step, week, n in rows]


# ---------------------------------------------------------------- publication → confirmation


@dataclass(frozen=True)
class DaysRow:
    month: date | None  # None: the whole period
    median: float
    p90: float
    needs: int


async def days_to_confirmation(
    session: AsyncSession, roots: Sequence[str] | None, since: datetime
) -> list[DaysRow]:
    """Days from a need's publication to its first confirmed delivery, for the needs first
    confirmed since ``since``: median and 90th percentile by local month, and over all."""
    first = (
        select(
            Need.id.label("need_id"),
            Need.published_at.label("published_at"),
            func.min(Delivery.confirmed_at).label("confirmed_at"),
        )
        .join(Fulfilment, Fulfilment.need_id == Need.id)
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .where(
            Delivery.confirmed_at.is_not(None),
            Delivery.confirmed_at >= since,
            Need.published_at.is_not(None),
            _scoped(Need.region_code, roots),
        )
        .group_by(Need.id, Need.published_at)
        .subquery()
    )
    days = func.greatest(_days(first.c.confirmed_at, first.c.published_at), 0.0)
    month = _month(first.c.confirmed_at).label("month")
    query = (
        select(
            month,
            func.percentile_cont(0.5).within_group(days),
            func.percentile_cont(0.9).within_group(days),
            func.count(),
        )
        .group_by(func.rollup(month))
        .order_by(month.asc().nulls_last())
    )
    return [
        DaysRow(m, float(med), float(p90), int(n))
        for m, med, p90, n in (await session.execute(query)).all()
        if n  # the rollup's total row of an empty set
    ]


# ---------------------------------------------------------------- fill rate


async def fill_by_category(
    session: AsyncSession, roots: Sequence[str] | None, since: datetime
) -> list[tuple[str, int, int]]:
    """(category, needs published since ``since``, of which delivered/confirmed/closed)."""
    filled = func.count().filter(Need.state.in_(FILLED_STATES))
    query = (
        select(Need.category, func.count(), filled)
        .where(Need.published_at >= since, _scoped(Need.region_code, roots))
        .group_by(Need.category)
    )
    return [(str(c), int(n), int(f)) for c, n, f in (await session.execute(query)).all()]


# ---------------------------------------------------------------- emergencies


EMERGENCY_BANDS = ((0, 1), (1, 3), (3, 7), (7, None))  # days, [low, high)


@dataclass(frozen=True)
class EmergencyRow:
    id: uuid.UUID
    title: str
    category: str
    region_code: str
    published_at: datetime | None  # never None here (the query requires it)


def _unmatched_emergencies(roots: Sequence[str] | None) -> Any:
    open_match = (
        select(Match.id)
        .where(Match.need_id == Need.id, Match.state.in_(OPEN_MATCH_STATES))
        .exists()
    )
    return (
        Need.state == NeedState.PUBLISHED,
        Need.urgency == Urgency.EMERGENCY,
        Need.published_at.is_not(None),
        ~open_match,
        _scoped(Need.region_code, roots),
    )


async def emergency_ages(
    session: AsyncSession, roots: Sequence[str] | None, now: datetime
) -> list[tuple[int, int]]:
    """(age band index, needs) of the published emergencies without an open proposal."""
    days = _days(literal(now), Need.published_at)
    band = case(
        *[(days < high, i) for i, (_low, high) in enumerate(EMERGENCY_BANDS) if high is not None],
        else_=len(EMERGENCY_BANDS) - 1,
    ).label("band")
    query = select(band, func.count()).where(*_unmatched_emergencies(roots)).group_by(band)
    return [(int(b), int(n)) for b, n in (await session.execute(query)).all()]


async def oldest_emergencies(
    session: AsyncSession, roots: Sequence[str] | None, *, limit: int
) -> list[EmergencyRow]:
    query = (
        select(Need.id, Need.title, Need.category, Need.region_code, Need.published_at)
        .where(*_unmatched_emergencies(roots))
        .order_by(Need.published_at.asc(), Need.id)
        .limit(limit)
    )
    return [EmergencyRow(i, t, c, r, p) for i, t, c, r, p in (await session.execute(query)).all()]


# ---------------------------------------------------------------- review SLA


async def review_status(
    session: AsyncSession,
    roots: Sequence[str] | None,
    now: datetime,
    sla_hours: dict[Urgency, int],
    warn_percent: int,
) -> list[tuple[Urgency, int, int]]:
    """(urgency, status 0 within / 1 past the warning / 2 past the SLA, proposals) of the
    proposals waiting for a coordinator's review in the area."""
    hours = cast(func.extract("epoch", literal(now) - Match.created_at), Float) / 3600.0
    sla = case(*[(Need.urgency == u, h) for u, h in sla_hours.items()], else_=72)
    status = case((hours >= sla, 2), (hours >= sla * (warn_percent / 100.0), 1), else_=0).label(
        "status"
    )
    query = (
        select(Need.urgency, status, func.count())
        .select_from(Match)
        .join(Need, Need.id == Match.need_id)
        .where(Match.state == MatchState.PROPOSED, _scoped(Need.region_code, roots))
        .group_by(Need.urgency, status)
    )
    return [(Urgency(u), int(s), int(n)) for u, s, n in (await session.execute(query)).all()]


# ---------------------------------------------------------------- organizations


async def organization_activity(
    session: AsyncSession, roots: Sequence[str] | None, since: datetime
) -> list[tuple[uuid.UUID, str, int]]:
    """(organization, step, count): claims made, deliveries recorded and confirmed for needs in
    the area since ``since``."""
    claims = (
        select(Claim.organization_id.label("org"), literal("claimed").label("step"))
        .join(Need, Need.id == Claim.need_id)
        .where(Claim.created_at >= since, _scoped(Need.region_code, roots))
    )
    delivered = (
        select(Fulfilment.organization_id.label("org"), literal("delivered").label("step"))
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(
            Delivery.delivered_on >= func.timezone(LOCAL_TZ, since),
            _scoped(Need.region_code, roots),
        )
    )
    confirmed = (
        select(Fulfilment.organization_id.label("org"), literal("confirmed").label("step"))
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Delivery.confirmed_at >= since, _scoped(Need.region_code, roots))
    )
    both = union_all(claims, delivered, confirmed).subquery()
    query = select(both.c.org, both.c.step, func.count()).group_by(both.c.org, both.c.step)
    return [(o, str(s), int(n)) for o, s, n in (await session.execute(query)).all()]


async def organizations_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    rows = await session.scalars(select(Organization).where(Organization.id.in_(list(ids))))
    return {o.id: o for o in rows}


# ---------------------------------------------------------------- households helped


async def households_helped(
    session: AsyncSession, roots: Sequence[str] | None, since: datetime
) -> list[tuple[int, int]]:
    """(bucket 0 never / 1 once / 2 twice or more, active households) by confirmed deliveries
    to the household's needs since ``since``."""
    helped = (
        select(Need.household_id.label("hid"), func.count().label("n"))
        .join(Fulfilment, Fulfilment.need_id == Need.id)
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .where(Delivery.confirmed_at >= since, _scoped(Need.region_code, roots))
        .group_by(Need.household_id)
        .subquery()
    )
    n = func.coalesce(helped.c.n, 0)
    bucket = case((n >= 2, 2), else_=n).label("bucket")
    query = (
        select(bucket, func.count())
        .select_from(Household)
        .outerjoin(helped, helped.c.hid == Household.id)
        .where(Household.status == HouseholdStatus.ACTIVE, _scoped(Household.region_code, roots))
        .group_by(bucket)
    )
    return [(int(b), int(c)) for b, c in (await session.execute(query)).all()]


# ---------------------------------------------------------------- waiting by township


async def waiting_by_township(
    session: AsyncSession, roots: Sequence[str] | None, now: datetime
) -> list[tuple[str, int, float, float]]:
    """(township code or '' for needs filed at county level, needs waiting, median days,
    longest days) of the published needs in the area."""
    township = func.split_part(Region.path, ".", 4).label("township")
    days = _days(literal(now), Need.published_at)
    query = (
        select(
            township,
            func.count(),
            func.percentile_cont(0.5).within_group(days),
            func.max(days),
        )
        .join(Region, Region.code == Need.region_code)
        .where(
            Need.state == NeedState.PUBLISHED,
            Need.published_at.is_not(None),
            _scoped(Need.region_code, roots),
        )
        .group_by(township)
    )
    return [
        (str(t), int(n), float(med), float(mx))
        for t, n, med, mx in (await session.execute(query)).all()
    ]
