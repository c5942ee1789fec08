"""Region queries: by code, children, ancestors, and subtree filters for other domains."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backend.regions.models import Region, RegionLevel


async def get(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def children(session: AsyncSession, code: str | None) -> Sequence[Region]:
    condition = Region.parent_code.is_(None) if code is None else Region.parent_code == code
    return (await session.scalars(select(Region).where(condition).order_by(Region.code))).all()


async def ancestors(session: AsyncSession, code: str) -> Sequence[Region]:
    """From the province down to the region itself."""
    region = await session.get(Region, code)
    if region is None:
        return []
    codes = region.path.split(".")
    rows = {r.code: r for r in await session.scalars(select(Region).where(Region.code.in_(codes)))}
    return [rows[c] for c in codes if c in rows]


async def by_level(session: AsyncSession, *levels: RegionLevel) -> Sequence[Region]:
    return (
        await session.scalars(select(Region).where(Region.level.in_(levels)).order_by(Region.path))
    ).all()


def in_subtrees(
    column: InstrumentedAttribute[str], root_paths: Sequence[str]
) -> ColumnElement[bool]:
    """``column`` (a region code) lies in one of the subtrees given by their root paths."""
    if not root_paths:
        return column.is_(None) & column.is_not(None)  # always false
    conditions = [
        or_(Region.path == root, Region.path.startswith(root + ".", autoescape=True))
        for root in root_paths
    ]
    return column.in_(select(Region.code).where(or_(*conditions)))
