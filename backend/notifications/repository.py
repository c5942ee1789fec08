"""Queries of notifications: a user's own and those of their organizations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.outbox.models import Notification


def _visible(user_id: uuid.UUID, org_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    conditions = [Notification.user_id == user_id]
    if org_ids:
        conditions.append(Notification.organization_id.in_(list(org_ids)))
    return or_(*conditions) if conditions else false()


async def insert_once(session: AsyncSession, **values: object) -> bool:
    """Insert unless the (event, user, organization, kind) row exists; True when inserted.

    The unique constraint treats NULLs as distinct, so the row is looked up first (NULL-safe);
    the outbox job runs each event once anyway, this makes a replay harmless too.
    """
    exists = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.event_id.is_not_distinct_from(values.get("event_id")),
            Notification.user_id.is_not_distinct_from(values.get("user_id")),
            Notification.organization_id.is_not_distinct_from(values.get("organization_id")),
            Notification.kind == values["kind"],
        )
    )
    if exists:
        return False
    stmt = (
        insert(Notification)
        .values(id=uuid.uuid4(), **values)
        .on_conflict_do_nothing(index_elements=["event_id", "user_id", "organization_id", "kind"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def listing(
    session: AsyncSession,
    user_id: uuid.UUID,
    org_ids: Sequence[uuid.UUID],
    *,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[Notification], int]:
    query = select(Notification).where(_visible(user_id, org_ids))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id).offset(offset).limit(limit)
    )
    return rows.all(), total


async def unread_count(
    session: AsyncSession, user_id: uuid.UUID, org_ids: Sequence[uuid.UUID]
) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(_visible(user_id, org_ids), Notification.read_at.is_(None))
        )
        or 0
    )


async def mark_read(session: AsyncSession, user_id: uuid.UUID, org_ids: Sequence[uuid.UUID]) -> int:
    result = await session.execute(
        update(Notification)
        .where(_visible(user_id, org_ids), Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
