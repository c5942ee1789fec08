"""Every query of the partner API: clients, published needs (public columns), own resources,
own open fulfilments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import APIClient
from backend.fulfilment.models import Fulfilment
from backend.needs.models import Need, NeedState
from backend.resources.models import Claim, Resource


async def client_by_client_id(session: AsyncSession, client_id: str) -> APIClient | None:
    return (
        await session.scalars(select(APIClient).where(APIClient.client_id == client_id))
    ).first()


async def clients_of(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[APIClient]:
    rows = await session.scalars(
        select(APIClient)
        .where(APIClient.organization_id == organization_id)
        .order_by(APIClient.revoked_at.is_not(None), APIClient.created_at.desc())
    )
    return rows.all()


# The public columns of a published need. Only these leave the needs table here: no household
# id, no exact region, no free text beyond the public title and body (scanned at publication).
PUBLIC_NEED_COLUMNS = (
    Need.id,
    Need.category,
    Need.title,
    Need.body,
    Need.quantity,
    Need.unit,
    Need.amount_fen,
    Need.pledged,
    Need.delivered,
    Need.urgency,
    Need.deadline,
    Need.public_region_code,
    Need.public_profile,
    Need.published_at,
)


async def published_needs(
    session: AsyncSession, *, category: str | None, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(*PUBLIC_NEED_COLUMNS).where(
        Need.state == NeedState.PUBLISHED, Need.hidden_reason.is_(None)
    )
    if category:
        query = query.where(Need.category == category)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(Need.published_at.desc().nulls_last(), Need.id).offset(offset).limit(limit)
    )
    return [dict(row._mapping) for row in rows], total


async def resources_of(
    session: AsyncSession, organization_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[Resource], int]:
    query = select(Resource).where(Resource.organization_id == organization_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Resource.created_at.desc()).offset(offset).limit(limit)
    )
    return rows.all(), total


async def resource_of(
    session: AsyncSession, organization_id: uuid.UUID, resource_id: uuid.UUID
) -> Resource | None:
    return (
        await session.scalars(
            select(Resource)
            .where(Resource.id == resource_id, Resource.organization_id == organization_id)
            .with_for_update()
        )
    ).first()


async def open_fulfilment_of(
    session: AsyncSession, organization_id: uuid.UUID, fulfilment_id: uuid.UUID
) -> tuple[Fulfilment, Claim | None] | None:
    row = (
        await session.execute(
            select(Fulfilment, Claim)
            .outerjoin(Claim, Claim.id == Fulfilment.claim_id)
            .where(Fulfilment.id == fulfilment_id, Fulfilment.organization_id == organization_id)
            .with_for_update(of=Fulfilment)
        )
    ).first()
    return (row[0], row[1]) if row else None
