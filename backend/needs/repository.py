"""Every query of the needs domain. The public queries select only public columns.

:func:`public_needs` and :func:`public_need` are the public list/detail queries other domains
(search, organizations) use; they return :class:`backend.needs.schemas.PublicNeed` only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization
from backend.core.pagination import capped_count
from backend.needs.models import URGENCY_RANK, Need, NeedCategory, NeedState
from backend.needs.schemas import PUBLIC_STATES, PublicNeed, public_profile
from backend.regions.models import Region
from backend.regions.repository import in_subtrees

#: Exactly the columns a public need is built from. Adding a column here is a privacy review.
PUBLIC_COLUMNS = (
    Need.id,
    Need.category,
    NeedCategory.name_zh,
    NeedCategory.name_en,
    Need.title,
    Need.body,
    Need.quantity,
    Need.unit,
    Need.amount_fen,
    Need.pledged,
    Need.delivered,
    Need.urgency,
    Need.deadline,
    Need.state,
    Need.public_region_code,
    Region.path,
    Need.public_profile,
    Need.published_at,
    Organization.name.label("helper_organization"),
)


#: A need the public may see: exactly the predicate of the public partial indexes.
_PUBLIC = (
    Need.state.in_([NeedState(s) for s in PUBLIC_STATES]),
    Need.hidden_reason.is_(None),
    Need.public_region_code.is_not(None),
)


def _public_select() -> Select[Any]:
    query = (
        select(*PUBLIC_COLUMNS)
        .join(NeedCategory, NeedCategory.code == Need.category)
        .join(Region, Region.code == Need.public_region_code)
        .outerjoin(Organization, Organization.id == Need.helper_organization_id)
        .where(*_PUBLIC)
    )
    return cast("Select[Any]", query)


async def _region_names(session: AsyncSession, paths: Sequence[str]) -> dict[str, str]:
    codes = {code for path in paths for code in path.split(".")}
    if not codes:
        return {}
    rows = await session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
    return dict(rows.all())


def _build(row: Row[Any], names: dict[str, str]) -> PublicNeed:
    codes = tuple(row.path.split("."))
    return PublicNeed(
        id=row.id,
        category=row.category,
        category_name_zh=row.name_zh,
        category_name_en=row.name_en,
        title=row.title,
        body=row.body,
        quantity=row.quantity,
        unit=row.unit,
        amount_fen=row.amount_fen,
        pledged=row.pledged,
        delivered=row.delivered,
        urgency=row.urgency.value,
        deadline=row.deadline,
        state=row.state.value,
        region_code=row.public_region_code,
        region_codes=codes,
        region_names=tuple(names.get(c, c) for c in codes),
        profile=public_profile(row.public_profile),
        published_at=row.published_at,
        helper_organization=row.helper_organization,
    )


async def public_needs(
    session: AsyncSession,
    *,
    category: str | None = None,
    urgency: str | None = None,
    state: str | None = None,
    region_path: str | None = None,
    offset: int = 0,
    limit: int = 20,
    ids: Sequence[uuid.UUID] | None = None,
) -> tuple[list[PublicNeed], int]:
    """Publicly visible needs, newest first (emergency first), with the total count (capped:
    above ``COUNT_CAP`` it means "more than that", see ``backend.core.pagination``).

    ``region_path``: only needs whose *published* (generalised) location lies in that subtree.
    ``ids``: restrict to these needs (the search layer reloads hits this way).
    """
    conditions: list[ColumnElement[bool]] = []
    if category:
        conditions.append(Need.category == category)
    if urgency:
        # urgency_rank is computed from urgency one to one: the index's first column
        rank = URGENCY_RANK.get(urgency)
        conditions.append(Need.urgency_rank == rank if rank is not None else false())
    if state and state in PUBLIC_STATES:
        conditions.append(Need.state == NeedState(state))
    if region_path:
        # a hashed set of the subtree's codes, checked for each index entry read in page order
        conditions.append(in_subtrees(cast(Any, Need.public_region_code), [region_path]))
    if ids is not None:
        conditions.append(Need.id.in_(list(ids)))
    query = _public_select().where(*conditions)
    # the count reads the needs table alone (every join of the page is to a required foreign
    # key or outer), so it is an index-only scan of ix_needs_public_order or
    # ix_needs_public_category_order, whose included columns answer the region and state
    total = await session.scalar(capped_count(select(Need.id).where(*_PUBLIC, *conditions))) or 0
    rows = (
        await session.execute(
            # the order of the partial index ix_needs_public_order
            query.order_by(Need.urgency_rank, Need.published_at.desc().nulls_last(), Need.id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
    names = await _region_names(session, [r.path for r in rows])
    return [_build(r, names) for r in rows], total


async def public_need(session: AsyncSession, need_id: uuid.UUID) -> PublicNeed | None:
    """One publicly visible need, or ``None`` (draft, withdrawn, expired, hidden, unknown)."""
    row = (await session.execute(_public_select().where(Need.id == need_id))).first()
    if row is None:
        return None
    return _build(row, await _region_names(session, [row.path]))


async def categories(session: AsyncSession) -> Sequence[NeedCategory]:
    return (await session.scalars(select(NeedCategory).order_by(NeedCategory.sort_order))).all()


async def needs_of_household(session: AsyncSession, household_id: uuid.UUID) -> Sequence[Need]:
    return (
        await session.scalars(
            select(Need).where(Need.household_id == household_id).order_by(Need.created_at.desc())
        )
    ).all()


async def live_needs_of_household(
    session: AsyncSession, household_id: uuid.UUID, states: Sequence[NeedState]
) -> Sequence[Need]:
    """Needs of the household in ``states``, locked for update (jobs and consent withdrawal)."""
    return (
        await session.scalars(
            select(Need)
            .where(Need.household_id == household_id, Need.state.in_(list(states)))
            .order_by(Need.id)
            .with_for_update()
        )
    ).all()


async def hidden_needs(
    session: AsyncSession, household_id: uuid.UUID, reason: str
) -> Sequence[Need]:
    return (
        await session.scalars(
            select(Need)
            .where(Need.household_id == household_id, Need.hidden_reason == reason)
            .order_by(Need.id)
            .with_for_update()
        )
    ).all()


async def overdue_published(session: AsyncSession, today: date, limit: int = 500) -> Sequence[Need]:
    return (
        await session.scalars(
            select(Need)
            .where(Need.state == NeedState.PUBLISHED, Need.deadline < today)
            .order_by(Need.deadline, Need.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def need_for_update(session: AsyncSession, need_id: Any) -> Need | None:
    """The need, its row locked until the transaction ends (SELECT ... FOR UPDATE).

    populate_existing: a need loaded earlier in the transaction (unlocked) is refreshed with the
    locked row's values and version, or the next UPDATE would fail as stale."""
    return (
        await session.scalars(
            select(Need)
            .where(Need.id == need_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def blocked_drafts(
    session: AsyncSession, root_paths: Sequence[str], *, limit: int, cap: int | None = None
) -> tuple[Sequence[Need], int]:
    """Drafts whose last publication try was refused (ix_needs_publish_blocked_region)."""
    where = (
        Need.publish_blocked.is_not(None),
        Need.state == NeedState.DRAFT,
        in_subtrees(Need.region_code, root_paths, probe=True),
    )
    total = await session.scalar(capped_count(select(Need.id).where(*where), cap)) or 0
    query = select(Need).where(*where)
    rows = await session.scalars(query.order_by(Need.updated_at.desc()).limit(limit))
    return rows.all(), total


async def unclaimed_due(
    session: AsyncSession,
    root_paths: Sequence[str],
    today: date,
    until: date,
    *,
    limit: int,
    cap: int | None = None,
) -> tuple[Sequence[Need], int]:
    """Published (unclaimed) needs with a deadline from today to ``until``
    (ix_needs_published_region: the area's codes, then the deadline range)."""
    where = (
        Need.state == NeedState.PUBLISHED,
        Need.deadline >= today,
        Need.deadline <= until,
        in_subtrees(Need.region_code, root_paths, probe=True),  # ix_needs_published_region
    )
    total = await session.scalar(capped_count(select(Need.id).where(*where), cap)) or 0
    query = select(Need).where(*where)
    rows = await session.scalars(query.order_by(Need.deadline, Need.id).limit(limit))
    return rows.all(), total
