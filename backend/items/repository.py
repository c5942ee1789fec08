"""Queries of the items domain: county extensions, and rows whose kind is unsure."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.items.models import CountyItemKind, KindSource
from backend.needs.models import Need, NeedState
from backend.regions.models import Region
from backend.regions.repository import in_subtrees


async def county_kinds(session: AsyncSession, county_code: str) -> Sequence[CountyItemKind]:
    return (
        await session.scalars(
            select(CountyItemKind)
            .where(CountyItemKind.county_code == county_code)
            .order_by(CountyItemKind.category, CountyItemKind.code)
        )
    ).all()


async def counties_kinds(
    session: AsyncSession, county_codes: Sequence[str]
) -> Sequence[CountyItemKind]:
    """The own kinds of several counties in one query (ordered as :func:`county_kinds`)."""
    if not county_codes:
        return []
    return (
        await session.scalars(
            select(CountyItemKind)
            .where(CountyItemKind.county_code.in_(list(county_codes)))
            .order_by(CountyItemKind.county_code, CountyItemKind.category, CountyItemKind.code)
        )
    ).all()


async def county_kind(session: AsyncSession, code: str) -> CountyItemKind | None:
    return await session.get(CountyItemKind, code)


async def region_path(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(Region.path).where(Region.code == code))


async def counties(session: AsyncSession, root_paths: Sequence[str] | None) -> Sequence[Region]:
    query = select(Region).where(Region.level == "county").order_by(Region.code)
    if root_paths is not None:
        query = query.where(in_subtrees(Region.code, root_paths))
    return (await session.scalars(query)).all()


async def unsure_needs(
    session: AsyncSession, root_paths: Sequence[str] | None, limit: int = 100
) -> Sequence[Need]:
    """Open needs whose kind a caseworker should confirm, in the given subtrees."""
    query = (
        select(Need)
        .where(
            Need.item_kind_source == KindSource.UNSURE.value,
            Need.state.notin_([NeedState.CLOSED, NeedState.WITHDRAWN, NeedState.EXPIRED]),
        )
        .order_by(Need.created_at, Need.id)
        .limit(limit)
    )
    if root_paths is not None:
        query = query.where(in_subtrees(Need.region_code, root_paths))
    return (await session.scalars(query)).all()
