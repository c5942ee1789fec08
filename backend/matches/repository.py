"""Every query of the matches domain (jurisdiction-scoped where a user is involved)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    any_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, OrgStatus, Role, RoleGrant
from backend.core.pagination import capped_count
from backend.households.enums import HouseholdStatus
from backend.households.models import Household
from backend.matches.models import (
    CountyWeights,
    FairnessCell,
    FairnessHousehold,
    FairnessNeed,
    Match,
    MatchingRun,
    MatchSource,
    MatchState,
    QueueNeed,
    RunState,
)
from backend.needs.models import URGENCY_RANK, Need, NeedCategory, NeedState, Urgency
from backend.regions.models import Region, RegionLevel
from backend.regions.repository import in_subtree_codes, in_subtrees
from backend.resources.models import Resource, ResourceState

#: Matches that hold capacity of a need and an offer until they are accepted or closed.
OPEN_STATES = (MatchState.PROPOSED, MatchState.APPROVED)


# ---------------------------------------------------------------- loader inputs


@dataclass(frozen=True)
class NeedRow:
    """What the loader reads of one need. ``household_*`` never leaves the server."""

    need: Need
    region_path: str
    household_id: uuid.UUID
    household_category: str
    household_flags: tuple[str, ...]
    vulnerability: float | None


@dataclass(frozen=True)
class OfferRow:
    resource: Resource
    rating_sum: int
    rating_count: int
    organization_name: str = ""


async def county(session: AsyncSession, code: str) -> Region | None:
    region = await session.get(Region, code)
    return region if region is not None and region.level == RegionLevel.COUNTY else None


async def counties_in(session: AsyncSession, root_paths: Sequence[str] | None) -> Sequence[Region]:
    """Counties under the given subtrees (``None``: all)."""
    query = select(Region).where(Region.level == RegionLevel.COUNTY)
    if root_paths is not None:
        query = query.where(in_subtrees(Region.code, root_paths))
    return (await session.scalars(query.order_by(Region.path))).all()


_HOUSEHOLD_REGION = Region.__table__.alias("household_region")  # the household's region


async def _need_rows(session: AsyncSession, *conditions: Any) -> list[NeedRow]:
    """Needs meeting ``conditions`` (which may name ``_HOUSEHOLD_REGION``) with their
    household's region path, category and flags, by id."""
    rows = await session.execute(
        select(
            Need,
            _HOUSEHOLD_REGION.c.path,
            Household.id,
            Household.category,
            Household.flags,
            Household.vulnerability,
        )
        .join(Household, Household.id == Need.household_id)
        .join(_HOUSEHOLD_REGION, _HOUSEHOLD_REGION.c.code == Household.region_code)
        .where(*conditions)
        .order_by(Need.id)
    )
    return [
        NeedRow(need, path, hid, str(category), tuple(flags or ()), vuln)
        for need, path, hid, category, flags, vuln in rows.all()
    ]


async def published_needs(session: AsyncSession, county_path: str) -> Sequence[NeedRow]:
    """Published, visible needs whose household lives in the county."""
    return await _need_rows(
        session,
        Need.state == NeedState.PUBLISHED,
        Need.hidden_reason.is_(None),
        or_(
            _HOUSEHOLD_REGION.c.path == county_path,
            _HOUSEHOLD_REGION.c.path.startswith(county_path + ".", autoescape=True),
        ),
    )


async def active_offers(session: AsyncSession, area_codes: Sequence[str]) -> Sequence[OfferRow]:
    """Active resources of approved organizations whose service area touches ``area_codes``."""
    rows = await session.execute(
        select(Resource, Organization.rating_sum, Organization.rating_count, Organization.name)
        .join(Organization, Organization.id == Resource.organization_id)
        .where(
            Resource.state == ResourceState.ACTIVE,
            Resource.remaining > 0,
            Organization.status == OrgStatus.APPROVED,
            Resource.service_area.op("&&")(
                bindparam("area_codes", list(area_codes), type_=ARRAY(String))
            ),
        )
        .order_by(Resource.id)
    )
    return [OfferRow(res, rsum, rcount, name) for res, rsum, rcount, name in rows.all()]


async def subtree_codes(session: AsyncSession, path: str) -> list[str]:
    rows = await session.scalars(
        select(Region.code).where(
            or_(Region.path == path, Region.path.startswith(path + ".", autoescape=True))
        )
    )
    return list(rows)


async def held_quantities(
    session: AsyncSession, *, county_code: str, column: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Units held by open matches, per need or resource id, except this county's engine proposals.

    Those are replaced by the run; everything else (approved matches, coordinator and claim
    proposals, other counties' engine proposals on a shared offer) keeps its units.
    """
    if not ids:
        return {}
    key = Match.need_id if column == "need" else Match.resource_id
    own_engine_proposal = and_(
        Match.state == MatchState.PROPOSED,
        Match.source == MatchSource.ENGINE,
        Match.run_id.in_(select(MatchingRun.id).where(MatchingRun.county_code == county_code)),
    )
    # An offer's units: ``offer_quantity`` when the match converted units, else ``quantity``.
    amount = (
        Match.quantity if column == "need" else func.coalesce(Match.offer_quantity, Match.quantity)
    )
    rows = await session.execute(
        select(key, func.sum(amount))
        .where(key.in_(list(ids)), Match.state.in_(OPEN_STATES), ~own_engine_proposal)
        .group_by(key)
    )
    return {k: int(v) for k, v in rows.all() if k is not None}


async def amount_categories(session: AsyncSession) -> set[str]:
    rows = await session.scalars(select(NeedCategory.code).where(NeedCategory.measure == "amount"))
    return set(rows)


async def county_weights(session: AsyncSession, county_code: str) -> dict[str, float]:
    row = await session.get(CountyWeights, county_code)
    return dict(row.weights) if row is not None else {}


# ---------------------------------------------------------------- runs


async def run_for_update(session: AsyncSession, run_id: uuid.UUID) -> MatchingRun | None:
    return (
        await session.scalars(select(MatchingRun).where(MatchingRun.id == run_id).with_for_update())
    ).first()


async def unfinished_run(session: AsyncSession, county_code: str) -> MatchingRun | None:
    return (
        await session.scalars(
            select(MatchingRun)
            .where(
                MatchingRun.county_code == county_code,
                MatchingRun.state.in_((RunState.QUEUED, RunState.RUNNING)),
            )
            .order_by(MatchingRun.created_at.desc())
            .limit(1)
        )
    ).first()


async def runs(
    session: AsyncSession, root_paths: Sequence[str] | None, *, offset: int = 0, limit: int = 20
) -> tuple[Sequence[MatchingRun], int]:
    query = select(MatchingRun)
    if root_paths is not None:
        query = query.where(in_subtrees(MatchingRun.county_code, root_paths))
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.scalars(
        query.order_by(MatchingRun.created_at.desc()).offset(offset).limit(limit)
    )
    return rows.all(), total


async def expire_county_proposals(
    session: AsyncSession, county_code: str, run_id: uuid.UUID
) -> list[uuid.UUID]:
    """Still-proposed engine matches of earlier runs of the county → expired; their needs' ids
    (one per expired match)."""
    result = await session.scalars(
        update(Match)
        .where(
            Match.state == MatchState.PROPOSED,
            Match.source == MatchSource.ENGINE,
            Match.run_id != run_id,
            Match.run_id.in_(select(MatchingRun.id).where(MatchingRun.county_code == county_code)),
        )
        .values(state=MatchState.EXPIRED, version=Match.version + 1, reason="superseded")
        .returning(Match.need_id)
        .execution_options(synchronize_session=False)
    )
    return list(result.all())


async def nightly_counties(session: AsyncSession) -> list[str]:
    """Counties with a coordinator (in their subtree) or with published needs."""
    coordinator_paths = list(
        await session.scalars(
            select(Region.path)
            .join(RoleGrant, RoleGrant.region_code == Region.code)
            .where(RoleGrant.role == Role.COORDINATOR)
        )
    )
    codes: set[str] = set()
    if coordinator_paths:
        codes.update(c.code for c in await counties_in(session, coordinator_paths))
        # A coordinator of a township still triggers its county.
        for path in coordinator_paths:
            parts = path.split(".")
            if len(parts) > 3:
                codes.add(parts[2])
    need_paths = await session.scalars(
        select(Region.path)
        .join(Need, Need.region_code == Region.code)
        .where(Need.state == NeedState.PUBLISHED)
        .distinct()
    )
    for path in need_paths:
        parts = path.split(".")
        if len(parts) >= 3:
            codes.add(parts[2])
    return sorted(codes)


# ---------------------------------------------------------------- review


@dataclass(frozen=True)
class MatchRow:
    match: Match
    need: Need
    resource: Resource | None
    organization: Organization | None


def _match_rows() -> Select[Match, Need, Resource, Organization]:
    return (
        select(Match, Need, Resource, Organization)
        .join(Need, Need.id == Match.need_id)
        .outerjoin(Resource, Resource.id == Match.resource_id)
        .outerjoin(Organization, Organization.id == Match.organization_id)
    )


async def match_for_update(session: AsyncSession, match_id: uuid.UUID) -> Match | None:
    return (
        await session.scalars(select(Match).where(Match.id == match_id).with_for_update())
    ).first()


async def match_row(session: AsyncSession, match_id: uuid.UUID) -> MatchRow | None:
    row = (await session.execute(_match_rows().where(Match.id == match_id))).first()
    return MatchRow(row[0], row[1], row[2], row[3]) if row is not None else None


async def coordinator_queue(
    session: AsyncSession,
    root_paths: Sequence[str] | None,
    *,
    state: MatchState = MatchState.PROPOSED,
    category: str | None = None,
    urgency: Urgency | None = None,
    organization_id: uuid.UUID | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[MatchRow], int]:
    query = _match_rows().where(Match.state == state)
    if root_paths is not None:
        query = query.where(in_subtrees(Need.region_code, root_paths))
    if category:
        query = query.where(Need.category == category)
    if urgency is not None:
        query = query.where(Need.urgency == urgency)
    if organization_id is not None:
        query = query.where(Match.organization_id == organization_id)
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.execute(
        # the need's stored urgency_rank: emergency first
        query.order_by(Need.urgency_rank, Match.score.desc(), Match.id).offset(offset).limit(limit)
    )
    return [MatchRow(r[0], r[1], r[2], r[3]) for r in rows.all()], total


@dataclass(frozen=True)
class NeedGroup:
    """One need of the queue with its proposals (best first)."""

    need: Need
    rows: list[MatchRow]


async def coordinator_queue_by_need(
    session: AsyncSession,
    root_paths: Sequence[str] | None,
    *,
    category: str | None = None,
    urgency: Urgency | None = None,
    organization_id: uuid.UUID | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[NeedGroup], int]:
    """Needs with proposals to review (a page of needs), each with all its proposals.

    Needs are ordered by urgency, then their best proposal's score; the count is of needs,
    capped (:func:`backend.core.pagination.capped_count`). Both read the maintained queue rows
    (``match_queue``, one per need) in the order of their index, never the city's proposals.
    With an organization, the needs with a proposal of it and only its proposals are shown.
    """
    filters = _queue_filters(root_paths, category, urgency, organization_id)
    q = QueueNeed
    total = await session.scalar(capped_count(select(q.need_id).where(*filters))) or 0
    need_ids = list(
        await session.scalars(
            select(q.need_id)
            .where(*filters)
            .order_by(q.urgency_rank, q.best_score.desc(), q.need_id)
            .offset(offset)
            .limit(limit)
        )
    )
    if not need_ids:
        return [], total
    match_filters = [Match.need_id.in_(need_ids), Match.state == MatchState.PROPOSED]
    if organization_id is not None:
        match_filters.append(Match.organization_id == organization_id)
    rows = await session.execute(
        _match_rows().where(*match_filters).order_by(Match.score.desc(), Match.id)
    )
    by_need: dict[uuid.UUID, list[MatchRow]] = {i: [] for i in need_ids}
    for r in rows.all():
        by_need[r[0].need_id].append(MatchRow(r[0], r[1], r[2], r[3]))
    return [NeedGroup(by_need[i][0].need, by_need[i]) for i in need_ids if by_need[i]], total


async def unreviewed_proposals(session: AsyncSession, county_code: str) -> int:
    """The county's engine proposals nobody has reviewed yet (a new run replaces them)."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Match)
            .where(
                Match.state == MatchState.PROPOSED,
                Match.source == MatchSource.ENGINE,
                Match.run_id.in_(
                    select(MatchingRun.id).where(MatchingRun.county_code == county_code)
                ),
            )
        )
        or 0
    )


async def organization_queue(
    session: AsyncSession,
    org_ids: Sequence[uuid.UUID],
    *,
    states: Sequence[MatchState],
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[MatchRow], int]:
    query = _match_rows().where(
        Match.organization_id.in_(list(org_ids)), Match.state.in_(list(states))
    )
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.execute(
        query.order_by(Match.updated_at.desc(), Match.id).offset(offset).limit(limit)
    )
    return [MatchRow(r[0], r[1], r[2], r[3]) for r in rows.all()], total


async def queue_filters(
    session: AsyncSession, root_paths: Sequence[str] | None
) -> tuple[Sequence[NeedCategory], Sequence[Organization]]:
    """Need categories, and the organizations with proposals in the subtrees (from the queue
    rows: no scan of the proposals)."""
    categories = await need_categories(session)
    org_ids = (
        select(func.unnest(QueueNeed.organization_ids))
        .where(*_queue_filters(root_paths, None, None, None))
        .scalar_subquery()
    )
    org_query = (
        select(Organization)
        .where(Organization.id == any_(func.array(org_ids)))
        .order_by(Organization.name)
    )
    return categories, (await session.scalars(org_query)).all()


async def stale_matches(session: AsyncSession, now: datetime, limit: int = 500) -> Sequence[Match]:
    return (
        await session.scalars(
            select(Match)
            .where(
                Match.state.in_(OPEN_STATES), Match.expires_at.is_not(None), Match.expires_at < now
            )
            .order_by(Match.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def region_path(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(Region.path).where(Region.code == code))


async def region_paths(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Region.code, Region.path).where(Region.code.in_(list(codes)))
    )
    return {str(code): str(path) for code, path in rows.all()}


async def region_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, Region]:
    if not codes:
        return {}
    return {
        r.code: r for r in await session.scalars(select(Region).where(Region.code.in_(list(codes))))
    }


async def resource_for_update(session: AsyncSession, resource_id: uuid.UUID) -> Resource | None:
    return (
        await session.scalars(select(Resource).where(Resource.id == resource_id).with_for_update())
    ).first()


# ---------------------------------------------------------------- fairness monitor


def _county_of(path_column: Any) -> Any:
    return func.split_part(path_column, ".", 3)


async def unmatched_emergencies(
    session: AsyncSession, root_paths: Sequence[str] | None, *, limit: int = 50
) -> tuple[Sequence[Need], int]:
    """Published emergency needs without an open match, longest waiting first."""
    open_match = (
        select(Match.id).where(Match.need_id == Need.id, Match.state.in_(OPEN_STATES)).exists()
    )
    conditions = [Need.state == NeedState.PUBLISHED, Need.urgency == Urgency.EMERGENCY, ~open_match]
    if root_paths is not None:
        conditions.append(in_subtree_codes(Need.region_code, root_paths))
    # the count reads ids only; the page reads its rows
    total = await session.scalar(capped_count(select(Need.id).where(*conditions))) or 0
    rows = await session.scalars(
        select(Need)
        .where(*conditions)
        .order_by(Need.published_at.asc().nulls_last(), Need.id)
        .limit(limit)
    )
    return rows.all(), total


async def need_categories(session: AsyncSession) -> Sequence[NeedCategory]:
    return (
        await session.scalars(
            select(NeedCategory).order_by(NeedCategory.sort_order, NeedCategory.code)
        )
    ).all()


async def organizations_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    return {
        o.id: o
        for o in await session.scalars(select(Organization).where(Organization.id.in_(list(ids))))
    }


async def resources_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Resource]:
    if not ids:
        return {}
    return {
        r.id: r for r in await session.scalars(select(Resource).where(Resource.id.in_(list(ids))))
    }


# --- fairness figures (maintained by backend/matches/figures.py) ------------------------------

EPOCH = date(1970, 1, 1)  # the day of the ``households`` metric


async def household_for_fairness(
    session: AsyncSession, household_id: uuid.UUID
) -> tuple[str | None, list[datetime]]:
    """The county of an active household (``None`` when it is gone or not active) and the
    times of its two most recent accepted matches."""
    county = await session.scalar(
        select(_county_of(Region.path))
        .select_from(Household)
        .join(Region, Region.code == Household.region_code)
        .where(Household.id == household_id, Household.status == HouseholdStatus.ACTIVE)
    )
    if county is None:
        return None, []
    helped = await session.scalars(
        select(Match.updated_at)
        .join(Need, Need.id == Match.need_id)
        .where(Need.household_id == household_id, Match.state == MatchState.ACCEPTED)
        .order_by(Match.updated_at.desc())
        .limit(2)
    )
    return str(county), list(helped)


async def need_for_fairness(
    session: AsyncSession, need_id: uuid.UUID
) -> tuple[str | None, datetime | None]:
    """The county and publication time of a published need (``None, None`` otherwise)."""
    row = (
        await session.execute(
            select(_county_of(Region.path), Need.published_at)
            .select_from(Need)
            .join(Region, Region.code == Need.region_code)
            .where(
                Need.id == need_id,
                Need.state == NeedState.PUBLISHED,
                Need.published_at.is_not(None),
            )
        )
    ).first()
    return (None, None) if row is None else (str(row[0]), row[1])


async def household_of_match(session: AsyncSession, match_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(Need.household_id).join(Match, Match.need_id == Need.id).where(Match.id == match_id)
    )


async def lock_fairness_household(
    session: AsyncSession, household_id: uuid.UUID
) -> FairnessHousehold:
    """The household's contribution row, locked (created empty first when missing): two jobs
    about one household take turns."""
    await session.execute(
        pg_insert(FairnessHousehold)
        .values(household_id=household_id, county_code=None)
        .on_conflict_do_nothing()
    )
    return (
        await session.scalars(
            select(FairnessHousehold)
            .where(FairnessHousehold.household_id == household_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def lock_fairness_need(session: AsyncSession, need_id: uuid.UUID) -> FairnessNeed:
    await session.execute(
        pg_insert(FairnessNeed).values(need_id=need_id, county_code=None).on_conflict_do_nothing()
    )
    return (
        await session.scalars(
            select(FairnessNeed)
            .where(FairnessNeed.need_id == need_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def add_to_cells(session: AsyncSession, deltas: dict[tuple[str, str, date], int]) -> None:
    """Add each delta to its cell (created at 0 when missing), cells in key order."""
    rows = [
        {"county_code": c, "metric": m, "day": d, "n": n}
        for (c, m, d), n in sorted(deltas.items())
        if n
    ]
    if not rows:
        return
    stmt = pg_insert(FairnessCell).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["county_code", "metric", "day"],
            set_={"n": FairnessCell.n + stmt.excluded.n},
        )
    )


@dataclass(frozen=True)
class CountyFigures:
    county_code: str
    households: int
    helped_once_or_more: int
    helped_twice_or_more: int
    waiting: tuple[int, int, int, int]


async def fairness_figures(
    session: AsyncSession, root_paths: Sequence[str] | None, today: date, *, period_days: int
) -> list[CountyFigures]:
    """Per county: active households, those helped at least once / twice in the period, and
    published needs by days waited (0–7, 8–30, 31–90, more), from the maintained cells."""
    c = FairnessCell
    since = today - timedelta(days=period_days)

    def total(metric: str, *conditions: Any) -> Any:
        return func.coalesce(func.sum(c.n).filter(c.metric == metric, *conditions), 0)

    query = (
        select(
            c.county_code,
            total("households"),
            total("latest_help", c.day >= since),
            total("second_help", c.day >= since),
            total("published", c.day >= today - timedelta(days=7)),
            total(
                "published", c.day.between(today - timedelta(days=30), today - timedelta(days=8))
            ),
            total(
                "published", c.day.between(today - timedelta(days=90), today - timedelta(days=31))
            ),
            total("published", c.day < today - timedelta(days=90)),
        )
        .group_by(c.county_code)
        .order_by(c.county_code)
    )
    if root_paths is not None:
        query = query.where(in_subtrees(c.county_code, root_paths))
    return [
        CountyFigures(
            str(r[0]), int(r[1]), int(r[2]), int(r[3]), (int(r[4]), int(r[5]), int(r[6]), int(r[7]))
        )
        for r in (await session.execute(query)).all()
        if any(r[1:])
    ]


async def fairness_cells(session: AsyncSession) -> dict[tuple[str, str, date], int]:
    """Every non-zero cell (the consistency check compares them with a rebuild)."""
    rows = await session.execute(
        select(
            FairnessCell.county_code, FairnessCell.metric, FairnessCell.day, FairnessCell.n
        ).where(FairnessCell.n != 0)
    )
    return {(c, m, d): n for c, m, d, n in rows.all()}


REBUILD_FAIRNESS = (
    "DELETE FROM fairness_cells",
    "DELETE FROM fairness_households",
    "DELETE FROM fairness_needs",
    # active households: county, and the local days of their two latest accepted matches
    "INSERT INTO fairness_households (household_id, county_code, latest_help, second_help)"
    " SELECT h.id, split_part(r.path, '.', 3),"
    "  max(hp.day) FILTER (WHERE hp.k = 1), max(hp.day) FILTER (WHERE hp.k = 2)"
    " FROM households h JOIN regions r ON r.code = h.region_code"
    " LEFT JOIN (SELECT n.household_id AS hid,"
    "   (m.updated_at AT TIME ZONE 'Asia/Shanghai')::date AS day,"
    "   row_number() OVER (PARTITION BY n.household_id ORDER BY m.updated_at DESC) AS k"
    "   FROM matches m JOIN needs n ON n.id = m.need_id WHERE m.state = 'accepted') hp"
    "  ON hp.hid = h.id AND hp.k <= 2"
    " WHERE h.status = 'active' GROUP BY h.id, r.path",
    # published needs: county and local publication day
    "INSERT INTO fairness_needs (need_id, county_code, published_day)"
    " SELECT n.id, split_part(r.path, '.', 3),"
    " (n.published_at AT TIME ZONE 'Asia/Shanghai')::date"
    " FROM needs n JOIN regions r ON r.code = n.region_code"
    " WHERE n.state = 'published' AND n.published_at IS NOT NULL",
    "INSERT INTO fairness_cells (county_code, metric, day, n)"
    " SELECT county_code, metric, day, count(*) FROM ("
    "  SELECT county_code, 'households' AS metric, DATE '1970-01-01' AS day"
    "   FROM fairness_households WHERE county_code IS NOT NULL"
    "  UNION ALL SELECT county_code, 'latest_help', latest_help FROM fairness_households"
    "   WHERE county_code IS NOT NULL AND latest_help IS NOT NULL"
    "  UNION ALL SELECT county_code, 'second_help', second_help FROM fairness_households"
    "   WHERE county_code IS NOT NULL AND second_help IS NOT NULL"
    "  UNION ALL SELECT county_code, 'published', published_day FROM fairness_needs"
    "   WHERE county_code IS NOT NULL"
    " ) c GROUP BY county_code, metric, day",
)


async def rebuild_fairness(session: AsyncSession) -> None:
    """Recount every fairness figure from the households, needs and matches (the migration,
    ``tongxin seed-scale`` and the consistency check); locks the three tables meanwhile."""
    await session.execute(
        text("LOCK TABLE fairness_households, fairness_needs, fairness_cells IN EXCLUSIVE MODE")
    )
    for statement in REBUILD_FAIRNESS:
        await session.execute(text(statement))


# --- the coordinator match queue (maintained by backend/matches/queue.py) --------------------

#: One row per need from its proposed matches; ``{where}`` picks the needs.
_QUEUE_RECOUNT = (
    "SELECT n.id AS need_id, r.path AS region_path, n.category, n.urgency_rank,"
    " coalesce(max(m.score), 0) AS best_score, count(m.id) AS proposals,"
    " coalesce(array_agg(DISTINCT m.organization_id)"
    "  FILTER (WHERE m.organization_id IS NOT NULL), '{{}}') AS organization_ids"
    " FROM needs n JOIN regions r ON r.code = n.region_code"
    " {join} JOIN matches m ON m.need_id = n.id AND m.state = 'proposed'"
    " {where} GROUP BY n.id, r.path"
)
_QUEUE_COLUMNS = (
    "need_id, region_path, category, urgency_rank, best_score, proposals, organization_ids"
)

REBUILD_QUEUE = (
    "DELETE FROM match_queue",
    f"INSERT INTO match_queue ({_QUEUE_COLUMNS}) " + _QUEUE_RECOUNT.format(join="", where=""),
)


async def lock_queue_needs(session: AsyncSession, need_ids: Sequence[uuid.UUID]) -> None:
    """Create (when missing) and lock the needs' queue rows, in id order: two transactions that
    change proposals of one need take turns, and the recount after the lock sees the other's."""
    await session.execute(
        text(
            "INSERT INTO match_queue (need_id) SELECT unnest(CAST(:ids AS uuid[])) ORDER BY 1"
            " ON CONFLICT (need_id) DO UPDATE SET proposals = match_queue.proposals"
        ),
        {"ids": sorted(set(need_ids))},
    )


async def recount_queue_needs(session: AsyncSession, need_ids: Sequence[uuid.UUID]) -> None:
    """Recount the (locked) queue rows of the needs from their proposed matches."""
    await session.execute(
        text(
            f"INSERT INTO match_queue ({_QUEUE_COLUMNS}) "
            + _QUEUE_RECOUNT.format(join="LEFT", where="WHERE n.id = ANY(CAST(:ids AS uuid[]))")
            + " ON CONFLICT (need_id) DO UPDATE SET region_path = excluded.region_path,"
            " category = excluded.category, urgency_rank = excluded.urgency_rank,"
            " best_score = excluded.best_score, proposals = excluded.proposals,"
            " organization_ids = excluded.organization_ids"
        ),
        {"ids": sorted(set(need_ids))},
    )


async def queued_need(session: AsyncSession, need_id: uuid.UUID) -> bool:
    """Has the need a queue row (ever had a proposal)?"""
    return bool(await session.scalar(select(true()).where(QueueNeed.need_id == need_id).limit(1)))


async def rebuild_queue(session: AsyncSession) -> None:
    """Recount every queue row (the migration, ``tongxin seed-scale``, the demo seeders)."""
    await session.execute(text("LOCK TABLE match_queue IN EXCLUSIVE MODE"))
    for statement in REBUILD_QUEUE:
        await session.execute(text(statement))


QueueKey = tuple[str, str, int, float, int, tuple[uuid.UUID, ...]]


def _queue_key(row: Any) -> QueueKey:
    return (
        row.region_path,
        row.category,
        int(row.urgency_rank),
        round(float(row.best_score), 6),
        int(row.proposals),
        tuple(sorted(row.organization_ids or ())),
    )


async def queue_rows(session: AsyncSession) -> dict[uuid.UUID, QueueKey]:
    """Every queue row with proposals (the consistency check compares them with a recount)."""
    rows = await session.execute(
        text(f"SELECT {_QUEUE_COLUMNS} FROM match_queue WHERE proposals > 0")  # noqa: S608
    )
    return {r.need_id: _queue_key(r) for r in rows.all()}


async def queue_recount(session: AsyncSession) -> dict[uuid.UUID, QueueKey]:
    rows = await session.execute(text(_QUEUE_RECOUNT.format(join="", where="")))
    return {r.need_id: _queue_key(r) for r in rows.all()}


def _queue_filters(
    root_paths: Sequence[str] | None,
    category: str | None,
    urgency: Urgency | None,
    organization_id: uuid.UUID | None,
) -> list[Any]:
    q = QueueNeed
    filters: list[Any] = [q.proposals > 0]
    if root_paths is not None:
        filters.append(
            or_(
                *(
                    or_(
                        q.region_path == root, q.region_path.startswith(root + ".", autoescape=True)
                    )
                    for root in root_paths
                ),
                false(),
            )
        )
    if category:
        filters.append(q.category == category)
    if urgency is not None:
        filters.append(q.urgency_rank == URGENCY_RANK[urgency.value])
    if organization_id is not None:
        filters.append(q.organization_ids.contains([organization_id]))
    return filters


# --- alternatives of a queue page (backend/matches/loader.py load_needs) ---------------------


async def needs_by_id(session: AsyncSession, need_ids: Sequence[uuid.UUID]) -> list[NeedRow]:
    """The needs (any state) with their household's region path, category and flags."""
    if not need_ids:
        return []
    return await _need_rows(session, Need.id.in_(list(need_ids)))


async def counties_weights(
    session: AsyncSession, county_codes: Sequence[str]
) -> dict[str, dict[str, float]]:
    if not county_codes:
        return {}
    rows = await session.scalars(
        select(CountyWeights).where(CountyWeights.county_code.in_(list(county_codes)))
    )
    return {r.county_code: dict(r.weights) for r in rows}


@dataclass(frozen=True)
class Held:
    """Units held by open matches per need and per offer, split by the county whose engine
    proposals they are ("" for everything else: approved, claim and coordinator matches)."""

    needs: dict[tuple[uuid.UUID, str], int]
    offers: dict[tuple[uuid.UUID, str], int]

    def need(self, need_id: uuid.UUID, county_code: str) -> int:
        """As :func:`held_quantities` for the county's run: its own engine proposals left out."""
        return sum(n for (i, c), n in self.needs.items() if i == need_id and c != county_code)

    def offer(self, resource_id: uuid.UUID, county_code: str) -> int:
        return sum(n for (i, c), n in self.offers.items() if i == resource_id and c != county_code)


_HELD = text(
    "SELECT m.need_id, m.resource_id, e.county AS county,"
    " sum(m.quantity) AS need_units, sum(coalesce(m.offer_quantity, m.quantity)) AS offer_units,"
    " grouping(m.need_id) AS by_offer"
    " FROM matches m LEFT JOIN matching_runs r ON r.id = m.run_id"
    " CROSS JOIN LATERAL (SELECT CASE WHEN m.state = 'proposed' AND m.source = 'engine'"
    "  THEN r.county_code ELSE '' END AS county) e"
    " WHERE m.state IN ('proposed', 'approved')"
    " AND (m.need_id = ANY(CAST(:needs AS uuid[])) OR m.resource_id = ANY(CAST(:offers AS uuid[])))"
    " GROUP BY GROUPING SETS ((m.need_id, e.county), (m.resource_id, e.county))"
)


async def held_by_county(
    session: AsyncSession, need_ids: Sequence[uuid.UUID], resource_ids: Sequence[uuid.UUID]
) -> Held:
    """Units held by open matches of the needs and offers, in one statement."""
    if not need_ids and not resource_ids:
        return Held({}, {})
    wanted_needs, wanted_offers = set(need_ids), set(resource_ids)
    needs: dict[tuple[uuid.UUID, str], int] = {}
    offers: dict[tuple[uuid.UUID, str], int] = {}
    rows = await session.execute(
        _HELD, {"needs": list(wanted_needs), "offers": list(wanted_offers)}
    )
    for r in rows.all():
        county = r.county or ""
        if r.by_offer:
            if r.resource_id in wanted_offers:
                offers[(r.resource_id, county)] = int(r.offer_units)
        elif r.need_id in wanted_needs:
            needs[(r.need_id, county)] = int(r.need_units)
    return Held(needs, offers)
