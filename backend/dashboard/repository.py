"""Queries of the coordinator dashboard.

The page reads the maintained cells (``cells_by``, ``window_sums``, at the end of this module,
kept by ``backend/dashboard/figures.py``). The grouped queries first below are the *recount*:
the figures' definitions aggregated over the area's rows, which the page ran per request before
the cells existed; ``tests/dashboard/test_dashboard_figures.py`` checks the cells against them.
The live list of the oldest unmatched emergencies and the names are still read here per request.

Every recount query is limited to the coordinator's area (region subtrees, ``in_subtrees`` on the
indexed region path) and, except the live queues (waiting needs, emergencies, proposals), to a
time window; only grouped numbers come back to Python. ``roots`` is ``None`` for the platform
admin (every region).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    Date,
    Float,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization
from backend.dashboard.models import DashboardCell, DashboardHousehold, DashboardNeed
from backend.fulfilment.models import Delivery, Fulfilment
from backend.households.enums import HouseholdStatus
from backend.households.models import Household
from backend.matches.models import Match, MatchState
from backend.needs.models import Need, NeedCategory, NeedState, Urgency
from backend.regions.models import Region, RegionLevel
from backend.regions.repository import in_subtrees
from backend.resources.models import Claim

LOCAL_TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(LOCAL_TZ)
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
    confirmed = func.min(Delivery.confirmed_at)
    first = (
        select(
            Need.id.label("need_id"),
            Need.published_at.label("published_at"),
            confirmed.label("confirmed_at"),
        )
        .join(Fulfilment, Fulfilment.need_id == Need.id)
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .where(
            Delivery.confirmed_at.is_not(None),
            Need.published_at.is_not(None),
            _scoped(Need.region_code, roots),
        )
        .group_by(Need.id, Need.published_at)
        .having(confirmed >= since)
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
    session: AsyncSession,
    roots: Sequence[str] | None,
    *,
    limit: int,
    before: datetime | None = None,
) -> list[EmergencyRow]:
    """The unmatched emergencies waiting longest; ``before`` (from the maintained hour cells:
    the hour by which ``limit`` of them had been published) keeps the scan of
    ``ix_needs_published_emergencies`` to the oldest ones."""
    query = (
        select(Need.id, Need.title, Need.category, Need.region_code, Need.published_at)
        .where(
            *_unmatched_emergencies(roots),
            *([] if before is None else [Need.published_at < before]),
        )
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
    """(bucket 0 never / 1 once / 2 twice or more, active households of the area) by confirmed
    deliveries to the household's needs (wherever filed) since ``since``."""
    helped = (
        select(Need.household_id.label("hid"), func.count().label("n"))
        .join(Fulfilment, Fulfilment.need_id == Need.id)
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .where(Delivery.confirmed_at >= since)
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


# ================================================================ maintained figures
#
# The queries above are the *recount*: they aggregate the area's rows per request. The page
# reads the cells below instead (``dashboard_cells``, kept by ``backend/dashboard/figures.py``);
# ``tests/dashboard/test_dashboard_figures.py`` checks that both give the same figures.

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FLOW_STEPS = ("published", "claimed", "delivered", "confirmed")
ORG_STEPS = {"org_claimed": "claimed", "org_delivered": "delivered", "org_confirmed": "confirmed"}
WINDOW_METRICS = ("fill", *ORG_STEPS, "help_latest", "help_second")  # summed over 12 months
CellKey = tuple[str, str, datetime, str]  # county, metric, bucket start, key

_TZ = "'Asia/Shanghai'"


def _local(unit: str, column: str) -> str:
    """The start of the local (Asia/Shanghai) week/day/month of a timestamptz, as timestamptz."""
    return f"(date_trunc('{unit}', {column} AT TIME ZONE {_TZ}) AT TIME ZONE {_TZ})"


def _local_date(unit: str, column: str) -> str:
    """The same for a local date column (``deliveries.delivered_on``)."""
    return f"(date_trunc('{unit}', {column}::timestamp) AT TIME ZONE {_TZ})"


def _hour(column: str) -> str:
    return f"(date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


# Every cell a need counts in (need_id, county, metric, at, key); ``{where}`` picks the needs.
NEED_CELLS = f"""
WITH n AS (
  SELECT n.id, n.state, n.urgency, n.category, n.published_at,
         split_part(r.path, '.', 3) AS county, split_part(r.path, '.', 4) AS township
  FROM needs n JOIN regions r ON r.code = n.region_code
  WHERE {{where}}
), d AS (
  SELECT f.need_id, f.organization_id AS org, dl.delivered_on, dl.confirmed_at
  FROM fulfilments f JOIN deliveries dl ON dl.fulfilment_id = f.id
  WHERE f.need_id IN (SELECT id FROM n)
), c AS (
  SELECT cl.need_id, cl.organization_id AS org, cl.created_at
  FROM claims cl WHERE cl.need_id IN (SELECT id FROM n)
), m AS (
  SELECT need_id, state, created_at FROM matches
  WHERE need_id IN (SELECT id FROM n) AND state IN ('proposed', 'approved')
), first_confirmed AS (
  SELECT need_id, min(confirmed_at) AS confirmed_at FROM d
  WHERE confirmed_at IS NOT NULL GROUP BY need_id
), cells AS ({{union}})
SELECT * FROM cells UNION ALL
SELECT id, county, metric || '/m', {_local("month", "at")}, key FROM cells
  WHERE metric IN ('fill', 'org_claimed', 'org_delivered', 'org_confirmed')
"""  # noqa: S608 - built from constant fragments, never from input
NEED_CELLS_UNION = f"""
SELECT id, county, 'published' AS metric, {_local("week", "published_at")} AS at, '' AS key
  FROM n WHERE published_at IS NOT NULL
UNION ALL SELECT n.id, county, 'claimed', {_local("week", "c.created_at")}, ''
  FROM n JOIN c ON c.need_id = n.id
UNION ALL SELECT n.id, county, 'delivered', {_local_date("week", "d.delivered_on")}, ''
  FROM n JOIN d ON d.need_id = n.id
UNION ALL SELECT n.id, county, 'confirmed', {_local("week", "d.confirmed_at")}, ''
  FROM n JOIN d ON d.need_id = n.id WHERE d.confirmed_at IS NOT NULL
UNION ALL SELECT n.id, county, 'org_claimed', {_local("day", "c.created_at")}, c.org::text
  FROM n JOIN c ON c.need_id = n.id
UNION ALL SELECT n.id, county, 'org_delivered', {_local_date("day", "d.delivered_on")}, d.org::text
  FROM n JOIN d ON d.need_id = n.id
UNION ALL SELECT n.id, county, 'org_confirmed', {_local("day", "d.confirmed_at")}, d.org::text
  FROM n JOIN d ON d.need_id = n.id WHERE d.confirmed_at IS NOT NULL
UNION ALL SELECT id, county, 'fill', {_local("day", "published_at")},
  category || ':' || CASE WHEN state IN ('delivered', 'confirmed', 'closed') THEN '1' ELSE '0' END
  FROM n WHERE published_at IS NOT NULL
UNION ALL SELECT n.id, county, 'confirm_days', {_local("month", "fc.confirmed_at")},
  floor(greatest(extract(epoch FROM fc.confirmed_at - n.published_at) / 86400.0, 0))::int::text
  FROM n JOIN first_confirmed fc ON fc.need_id = n.id WHERE n.published_at IS NOT NULL
UNION ALL SELECT id, county, 'waiting', {_hour("published_at")}, township
  FROM n WHERE state = 'published' AND published_at IS NOT NULL
UNION ALL SELECT id, county, 'emergency', {_hour("published_at")}, ''
  FROM n WHERE state = 'published' AND urgency = 'emergency' AND published_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM m WHERE m.need_id = n.id)
UNION ALL SELECT n.id, county, 'proposed', {_hour("m.created_at")}, n.urgency::text
  FROM n JOIN m ON m.need_id = n.id WHERE m.state = 'proposed'
"""  # noqa: S608 - built from constant fragments, never from input
NEED_CELLS = NEED_CELLS.replace("{union}", NEED_CELLS_UNION)

# An active household: its county and the local days of its two latest confirmed deliveries.
HOUSEHOLD_HELP = f"""
SELECT h.id, split_part(r.path, '.', 3) AS county,
  max(x.day) FILTER (WHERE x.k = 1) AS latest, max(x.day) FILTER (WHERE x.k = 2) AS second
FROM households h JOIN regions r ON r.code = h.region_code
LEFT JOIN (
  SELECT n.household_id AS hid, (dl.confirmed_at AT TIME ZONE {_TZ})::date AS day,
    row_number() OVER (PARTITION BY n.household_id ORDER BY dl.confirmed_at DESC, dl.id) AS k
  FROM deliveries dl JOIN fulfilments f ON f.id = dl.fulfilment_id
  JOIN needs n ON n.id = f.need_id
  WHERE dl.confirmed_at IS NOT NULL AND {{deliveries}}
) x ON x.hid = h.id AND x.k <= 2
WHERE h.status = 'active' AND {{where}}
GROUP BY h.id, r.path
"""  # noqa: S608 - built from constant fragments, never from input

REBUILD_DASHBOARD = (  # constant SQL: the placeholders are filled with constant fragments
    "DELETE FROM dashboard_cells",
    "DELETE FROM dashboard_needs",
    "DELETE FROM dashboard_households",
    "INSERT INTO dashboard_needs (need_id, county_code, cells)"  # noqa: S608
    " SELECT id, min(county), jsonb_agg(jsonb_build_array(metric, at, key, n)"
    "  ORDER BY metric, at, key)"
    " FROM (SELECT id, county, metric, at, key, count(*) AS n"
    "  FROM (" + NEED_CELLS.format(where="TRUE") + ") a GROUP BY id, county, metric, at, key) b"
    " GROUP BY id",
    "INSERT INTO dashboard_households (household_id, county_code, latest_help, second_help)"  # noqa: S608
    " SELECT id, county, latest, second FROM ("
    + HOUSEHOLD_HELP.format(deliveries="TRUE", where="TRUE")
    + ") h",
    "INSERT INTO dashboard_cells (county_code, metric, at, key, n)"
    " SELECT county_code, c->>0, (c->>1)::timestamptz, c->>2, sum((c->>3)::int)"
    " FROM dashboard_needs, jsonb_array_elements(cells) c"
    " GROUP BY county_code, c->>0, (c->>1)::timestamptz, c->>2"
    " ORDER BY 1, 2, 3, 4",  # a county's cells of a metric close together on disk
    "INSERT INTO dashboard_cells (county_code, metric, at, key, n)"  # noqa: S608
    " SELECT county_code, metric, at, '', count(*) FROM ("
    "  SELECT county_code, 'households' AS metric, TIMESTAMPTZ '1970-01-01 00:00+00' AS at"
    "   FROM dashboard_households"
    "  UNION ALL SELECT county_code, 'help_latest', latest_help::timestamp AT TIME ZONE "
    + _TZ
    + "   FROM dashboard_households WHERE latest_help IS NOT NULL"
    "  UNION ALL SELECT county_code, 'help_second', second_help::timestamp AT TIME ZONE "
    + _TZ
    + "   FROM dashboard_households WHERE second_help IS NOT NULL"
    "  UNION ALL SELECT county_code, 'help_latest/m',"
    "   date_trunc('month', latest_help)::timestamp AT TIME ZONE "
    + _TZ
    + "   FROM dashboard_households WHERE latest_help IS NOT NULL"
    "  UNION ALL SELECT county_code, 'help_second/m',"
    "   date_trunc('month', second_help)::timestamp AT TIME ZONE "
    + _TZ
    + "   FROM dashboard_households WHERE second_help IS NOT NULL"
    " ) h GROUP BY county_code, metric, at ORDER BY 1, 2, 3",
)


async def rebuild_dashboard(session: AsyncSession) -> None:
    """Recount every maintained figure (the migration, ``tongxin seed-scale``, the demo seeders
    and the consistency test); locks the three tables meanwhile."""
    await session.execute(
        text("LOCK TABLE dashboard_needs, dashboard_households, dashboard_cells IN EXCLUSIVE MODE")
    )
    for statement in REBUILD_DASHBOARD:
        await session.execute(text(statement))


async def need_cells(session: AsyncSession, need_id: uuid.UUID) -> list[CellKey]:
    """The cells one need counts in now (one row per thing counted)."""
    rows = await session.execute(text(NEED_CELLS.format(where="n.id = :id")), {"id": need_id})
    return [(str(c), str(m), at, str(k)) for _i, c, m, at, k in rows.all()]


async def household_help(
    session: AsyncSession, household_id: uuid.UUID
) -> tuple[str | None, date | None, date | None]:
    """(county, latest, second latest confirmed delivery day) of an active household; county
    None when it is not active (or gone)."""
    query = HOUSEHOLD_HELP.format(deliveries="n.household_id = :id", where="h.id = :id")
    row = (await session.execute(text(query), {"id": household_id})).first()
    if row is None:
        return None, None, None
    return str(row[1]), row[2], row[3]


async def household_of_need(session: AsyncSession, need_id: uuid.UUID) -> uuid.UUID | None:
    return (await session.execute(select(Need.household_id).where(Need.id == need_id))).scalar()


async def need_of(session: AsyncSession, kind: str, object_id: uuid.UUID) -> uuid.UUID | None:
    """The need an event's object belongs to (a match, claim, fulfilment or delivery)."""
    query: Any
    if kind == "match":
        query = select(Match.need_id).where(Match.id == object_id)
    elif kind == "claim":
        query = select(Claim.need_id).where(Claim.id == object_id)
    elif kind == "fulfilment":
        query = select(Fulfilment.need_id).where(Fulfilment.id == object_id)
    elif kind == "delivery":
        query = (
            select(Fulfilment.need_id)
            .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
            .where(Delivery.id == object_id)
        )
    else:
        return None
    return (await session.execute(query)).scalar()


async def lock_need(session: AsyncSession, need_id: uuid.UUID) -> DashboardNeed:
    await session.execute(
        pg_insert(DashboardNeed).values(need_id=need_id, county_code=None).on_conflict_do_nothing()
    )
    return (
        await session.scalars(
            select(DashboardNeed)
            .where(DashboardNeed.need_id == need_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def lock_household(session: AsyncSession, household_id: uuid.UUID) -> DashboardHousehold:
    await session.execute(
        pg_insert(DashboardHousehold)
        .values(household_id=household_id, county_code=None)
        .on_conflict_do_nothing()
    )
    return (
        await session.scalars(
            select(DashboardHousehold)
            .where(DashboardHousehold.household_id == household_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def add_to_cells(session: AsyncSession, deltas: dict[CellKey, int]) -> None:
    """Add each delta to its cell (created at 0 when missing), cells in key order."""
    rows = [
        {"county_code": c, "metric": m, "at": at, "key": k, "n": n}
        for (c, m, at, k), n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return
    stmt = pg_insert(DashboardCell).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["county_code", "metric", "at", "key"],
            set_={"n": DashboardCell.n + stmt.excluded.n},
        )
    )


async def all_cells(session: AsyncSession) -> dict[CellKey, int]:
    """Every non-zero cell (the consistency check compares them with a rebuild)."""
    c = DashboardCell
    rows = await session.execute(select(c.county_code, c.metric, c.at, c.key, c.n).where(c.n != 0))
    return {(cc, m, at, k): n for cc, m, at, k, n in rows.all()}


def _in_counties(counties: Sequence[str]) -> Any:
    """The cells of these counties: one range of the primary key per county."""
    return DashboardCell.county_code.in_(list(counties))


async def cells_by(
    session: AsyncSession,
    counties: Sequence[str],
    windows: Sequence[tuple[Sequence[str], datetime | None]],
) -> list[tuple[str, datetime, str, int]]:
    """(metric, bucket start, key, count) summed over the counties, for each group of metrics
    the buckets from its own start on (None: all), in one statement."""
    c = DashboardCell
    wanted = [
        and_(c.metric.in_(list(metrics)), *([] if since is None else [c.at >= since]))
        for metrics, since in windows
    ]
    query = (
        select(c.metric, c.at, c.key, func.sum(c.n))
        .where(_in_counties(counties), or_(*wanted), c.n != 0)
        .group_by(c.metric, c.at, c.key)
    )
    rows = (await session.execute(query)).all()
    return [(str(m), a, str(k), int(n)) for m, a, k, n in rows if n]


@dataclass(frozen=True)
class WaitingRow:
    township: str  # '' for needs filed at county level
    needs: int
    oldest: datetime  # hour of the longest wait
    median_low: datetime  # the hours at the two ranks percentile_cont(0.5) interpolates
    median_high: datetime
    fraction: float


async def waiting_by_township_cells(
    session: AsyncSession, counties: Sequence[str]
) -> list[WaitingRow]:
    """Per township: waiting needs, the hour of the oldest, and the median's two hours (ranks
    floor and ceil of (n - 1) / 2 by age) from the ``waiting`` hour cells, aggregated in the
    database: one row per township comes back."""
    c = DashboardCell
    hours = (
        select(c.key, c.at, func.sum(c.n).label("n"))
        .where(_in_counties(counties), c.metric == "waiting", c.n != 0)
        .group_by(c.key, c.at)
        .subquery()
    )
    ranked = select(
        hours.c.key,
        hours.c.at,
        func.sum(hours.c.n)
        .over(partition_by=hours.c.key, order_by=hours.c.at.desc())
        .label("upto"),
        func.sum(hours.c.n).over(partition_by=hours.c.key).label("total"),
    ).subquery()
    position = (ranked.c.total - 1) / 2.0
    query = select(
        ranked.c.key,
        func.max(ranked.c.total),
        func.min(ranked.c.at),
        func.max(ranked.c.at).filter(ranked.c.upto > func.floor(position)),
        func.max(ranked.c.at).filter(ranked.c.upto > func.ceil(position)),
        func.max(position - func.floor(position)),
    ).group_by(ranked.c.key)
    return [
        WaitingRow(str(k), int(n), oldest, low, high, float(frac))
        for k, n, oldest, low, high, frac in (await session.execute(query)).all()
        if n
    ]


def month_after(moment: datetime) -> datetime:
    """Local midnight of the first day of the month after ``moment``'s local month."""
    local = moment.astimezone(SHANGHAI)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=SHANGHAI)


async def window_sums(
    session: AsyncSession, counties: Sequence[str], metrics: Sequence[str], since: datetime
) -> list[tuple[str, str, int]]:
    """(metric, key, count) summed over the counties from local midnight ``since`` on:
    the day cells of ``since``'s month, then the month cells (``<metric>/m``) of the months
    after it. At most 31 + 12 buckets per county and key, whatever the data."""
    c = DashboardCell
    boundary = month_after(since)
    metric = func.replace(c.metric, "/m", "").label("metric")
    query = (
        select(metric, c.key, func.sum(c.n))
        .where(
            _in_counties(counties),
            or_(
                and_(c.metric.in_(list(metrics)), c.at >= since, c.at < boundary),
                and_(c.metric.in_([f"{m}/m" for m in metrics]), c.at >= boundary),
            ),
        )
        .group_by(metric, c.key)
    )
    rows = (await session.execute(query)).all()
    return [(str(m), str(k), int(n)) for m, k, n in rows if n]
