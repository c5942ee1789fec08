"""Every query of the matches domain (jurisdiction-scoped where a user is involved)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, case, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, OrgStatus, Role, RoleGrant
from backend.core.pagination import capped_count
from backend.households.enums import HouseholdStatus
from backend.households.models import Household
from backend.matches.models import (
    CountyWeights,
    Match,
    MatchingRun,
    MatchSource,
    MatchState,
    RunState,
)
from backend.needs.models import Need, NeedCategory, NeedState, Urgency
from backend.regions.models import Region, RegionLevel
from backend.regions.repository import in_subtrees
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


async def published_needs(session: AsyncSession, county_path: str) -> Sequence[NeedRow]:
    """Published, visible needs whose household lives in the county."""
    household_region = Region.__table__.alias("household_region")
    rows = await session.execute(
        select(
            Need,
            household_region.c.path,
            Household.id,
            Household.category,
            Household.flags,
            Household.vulnerability,
        )
        .join(Household, Household.id == Need.household_id)
        .join(household_region, household_region.c.code == Household.region_code)
        .where(
            Need.state == NeedState.PUBLISHED,
            Need.hidden_reason.is_(None),
            or_(
                household_region.c.path == county_path,
                household_region.c.path.startswith(county_path + ".", autoescape=True),
            ),
        )
        .order_by(Need.id)
    )
    return [
        NeedRow(need, path, hid, str(category), tuple(flags or ()), vuln)
        for need, path, hid, category, flags, vuln in rows.all()
    ]


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
) -> int:
    """Still-proposed engine matches of earlier runs of the county → expired."""
    result = await session.execute(
        update(Match)
        .where(
            Match.state == MatchState.PROPOSED,
            Match.source == MatchSource.ENGINE,
            Match.run_id != run_id,
            Match.run_id.in_(select(MatchingRun.id).where(MatchingRun.county_code == county_code)),
        )
        .values(state=MatchState.EXPIRED, version=Match.version + 1, reason="superseded")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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

    Needs are ordered by urgency, then their best proposal's score; the count is of needs.
    """
    filters = [Match.state == MatchState.PROPOSED]
    if root_paths is not None:
        filters.append(in_subtrees(Need.region_code, root_paths))
    if category:
        filters.append(Need.category == category)
    if urgency is not None:
        filters.append(Need.urgency == urgency)
    if organization_id is not None:
        filters.append(Match.organization_id == organization_id)
    urgency_rank = func.array_position(
        func.string_to_array("emergency,high,normal", ","), Need.urgency
    )
    needs_query = (
        select(Match.need_id, urgency_rank.label("rank"), func.max(Match.score).label("best"))
        .join(Need, Need.id == Match.need_id)
        .where(*filters)
        .group_by(Match.need_id, Need.urgency)
    )
    total = await session.scalar(select(func.count()).select_from(needs_query.subquery())) or 0
    page = (
        await session.execute(
            needs_query.order_by(urgency_rank, func.max(Match.score).desc(), Match.need_id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    need_ids = [r[0] for r in page]
    if not need_ids:
        return [], total
    rows = await session.execute(
        _match_rows()
        .where(Match.need_id.in_(need_ids), *filters)
        .order_by(Match.score.desc(), Match.id)
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
    categories = (
        await session.scalars(
            select(NeedCategory).order_by(NeedCategory.sort_order, NeedCategory.code)
        )
    ).all()
    org_query = (
        select(Organization)
        .where(
            Organization.id.in_(
                select(Match.organization_id)
                .join(Need, Need.id == Match.need_id)
                .where(Match.state == MatchState.PROPOSED)
                .where(
                    in_subtrees(Need.region_code, root_paths) if root_paths is not None else true()
                )
            )
        )
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


async def help_distribution(
    session: AsyncSession, root_paths: Sequence[str] | None, since: datetime
) -> list[tuple[str, int, int]]:
    """(county, accepted matches per household in the period (2 = more), active households)."""
    accepted = (
        select(Need.household_id.label("hid"), func.count(Match.id).label("n"))
        .join(Match, Match.need_id == Need.id)
        .where(Match.state == MatchState.ACCEPTED, Match.updated_at >= since)
        .group_by(Need.household_id)
        .subquery()
    )
    helped = func.coalesce(accepted.c.n, 0)
    bucket = case((helped >= 2, 2), else_=helped)
    query = (
        select(
            _county_of(Region.path).label("county"),
            bucket.label("bucket"),
            func.count().label("households"),
        )
        .select_from(Household)
        .join(Region, Region.code == Household.region_code)
        .outerjoin(accepted, accepted.c.hid == Household.id)
        .where(Household.status == HouseholdStatus.ACTIVE)
        .group_by("county", "bucket")
        .order_by("county", "bucket")
    )
    if root_paths is not None:
        query = query.where(in_subtrees(Household.region_code, root_paths))
    return [(str(c), int(b), int(n)) for c, b, n in (await session.execute(query)).all()]


WAIT_BUCKETS = ((0, 7), (8, 30), (31, 90), (91, None))


async def waiting_distribution(
    session: AsyncSession, root_paths: Sequence[str] | None, now: datetime
) -> list[tuple[str, int, int]]:
    """(county code, bucket index, needs) of published needs by days waited since publication."""
    days = func.extract("day", now - Need.published_at)
    bucket = case((days <= 7, 0), (days <= 30, 1), (days <= 90, 2), else_=3)
    query = (
        select(
            _county_of(Region.path).label("county"),
            bucket.label("bucket"),
            func.count().label("needs"),
        )
        .select_from(Need)
        .join(Region, Region.code == Need.region_code)
        .where(Need.state == NeedState.PUBLISHED, Need.published_at.is_not(None))
        .group_by("county", "bucket")
        .order_by("county", "bucket")
    )
    if root_paths is not None:
        query = query.where(in_subtrees(Need.region_code, root_paths))
    return [(str(c), int(b), int(n)) for c, b, n in (await session.execute(query)).all()]


async def unmatched_emergencies(
    session: AsyncSession, root_paths: Sequence[str] | None, *, limit: int = 50
) -> tuple[Sequence[Need], int]:
    """Published emergency needs without an open match, longest waiting first."""
    open_match = (
        select(Match.id).where(Match.need_id == Need.id, Match.state.in_(OPEN_STATES)).exists()
    )
    query = select(Need).where(
        Need.state == NeedState.PUBLISHED, Need.urgency == Urgency.EMERGENCY, ~open_match
    )
    if root_paths is not None:
        query = query.where(in_subtrees(Need.region_code, root_paths))
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.scalars(
        query.order_by(Need.published_at.asc().nulls_last(), Need.id).limit(limit)
    )
    return rows.all(), total


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
