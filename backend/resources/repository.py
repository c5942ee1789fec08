"""Every query of resources and claims."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, OrgStatus
from backend.core.pagination import capped_count
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment
from backend.households.models import Household
from backend.needs.models import Need, NeedState
from backend.regions.models import Region
from backend.resources.models import Claim, ClaimState, Resource, ResourceState


async def resource_for_update(session: AsyncSession, resource_id: uuid.UUID) -> Resource | None:
    """The resource, locked; refreshed when it was loaded earlier in the transaction (the
    UPDATE then carries the locked row's version)."""
    query = (
        select(Resource)
        .where(Resource.id == resource_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(query)).first()


async def claim_for_update(session: AsyncSession, claim_id: uuid.UUID) -> Claim | None:
    return (
        await session.scalars(select(Claim).where(Claim.id == claim_id).with_for_update())
    ).first()


async def public_resources(
    session: AsyncSession,
    *,
    kind: str | None = None,
    category: str | None = None,
    region_path: str | None = None,
    organization_id: uuid.UUID | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[tuple[Resource, Organization]], int]:
    """Active resources of approved organizations (newest first)."""
    query = (
        select(Resource, Organization)
        .join(Organization, Organization.id == Resource.organization_id)
        .where(Resource.state == ResourceState.ACTIVE, Organization.status == OrgStatus.APPROVED)
    )
    if kind:
        query = query.where(Resource.kind == kind)
    if category:
        query = query.where(Resource.category == category)
    if organization_id:
        query = query.where(Resource.organization_id == organization_id)
    if region_path:
        # Resources serving this region: one of its service-area roots is an ancestor (or it).
        ancestors = region_path.split(".")
        query = query.where(Resource.service_area.overlap(ancestors))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(Resource.created_at.desc()).offset(offset).limit(limit)
    )
    return [(r, o) for r, o in rows.all()], total


async def resource_with_org(
    session: AsyncSession, resource_id: uuid.UUID
) -> tuple[Resource, Organization] | None:
    row = (
        await session.execute(
            select(Resource, Organization)
            .join(Organization, Organization.id == Resource.organization_id)
            .where(Resource.id == resource_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def org_resources(
    session: AsyncSession, organization_id: uuid.UUID, *, active_only: bool = False
) -> Sequence[Resource]:
    query = select(Resource).where(Resource.organization_id == organization_id)
    if active_only:
        query = query.where(Resource.state == ResourceState.ACTIVE)
    return (await session.scalars(query.order_by(Resource.created_at.desc()))).all()


async def region_path(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(Region.path).where(Region.code == code))


async def known_regions(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    return set((await session.scalars(select(Region.code).where(Region.code.in_(codes)))).all())


async def household_profile(
    session: AsyncSession, household_id: uuid.UUID
) -> tuple[str, list[str]] | None:
    """Assistance category and member flags only (summaries, no personal column)."""
    row = (
        await session.execute(
            select(Household.category, Household.flags).where(Household.id == household_id)
        )
    ).first()
    return (
        (row[0].value if hasattr(row[0], "value") else str(row[0]), list(row[1] or []))
        if row
        else None
    )


async def claims_by_resource_for_household(
    session: AsyncSession, resource_id: uuid.UUID, household_id: uuid.UUID
) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Claim)
            .join(Need, Need.id == Claim.need_id)
            .where(
                Claim.resource_id == resource_id,
                Claim.state.in_((ClaimState.ACTIVE, ClaimState.FULFILLED)),
                Need.household_id == household_id,
            )
        )
        or 0
    )


async def org_claims(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    states: Sequence[ClaimState] | None = None,
    limit: int = 50,
) -> Sequence[tuple[Claim, Need, Resource | None]]:
    query = (
        select(Claim, Need, Resource)
        .join(Need, Need.id == Claim.need_id)
        .outerjoin(Resource, Resource.id == Claim.resource_id)
        .where(Claim.organization_id == organization_id)
    )
    if states:
        query = query.where(Claim.state.in_(states))
    rows = await session.execute(query.order_by(Claim.created_at.desc()).limit(limit))
    return [(c, n, r) for c, n, r in rows.all()]


async def claim_detail(
    session: AsyncSession, claim_id: uuid.UUID
) -> tuple[Claim, Need, Resource | None] | None:
    row = (
        await session.execute(
            select(Claim, Need, Resource)
            .join(Need, Need.id == Claim.need_id)
            .outerjoin(Resource, Resource.id == Claim.resource_id)
            .where(Claim.id == claim_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def claimable_needs(
    session: AsyncSession,
    area_paths: Sequence[str],
    *,
    category: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[Need], int]:
    """Published, visible needs inside the given region subtrees (for an organization to claim)."""
    from backend.regions.repository import in_subtrees

    query = select(Need).where(
        Need.state == NeedState.PUBLISHED,
        Need.hidden_reason.is_(None),
        in_subtrees(Need.region_code, area_paths, probe=True),
    )
    if category:
        query = query.where(Need.category == category)
    # capped like every list; the area's published needs come from ix_needs_published_region
    total = await session.scalar(capped_count(query)) or 0
    rows = await session.scalars(
        query.order_by(Need.urgency, Need.deadline.asc().nulls_last(), Need.created_at)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total


async def paths_of(session: AsyncSession, codes: Sequence[str]) -> list[str]:
    return list((await session.scalars(select(Region.path).where(Region.code.in_(codes)))).all())


def in_area(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root + ".") for root in roots)


async def region_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Region.code, Region.name, Region.name_en).where(Region.code.in_(set(codes)))
    )
    return {code: name for code, name, _ in rows.all()}


async def categories(session: AsyncSession) -> Sequence[Any]:
    from backend.needs.models import NeedCategory

    return (
        await session.scalars(
            select(NeedCategory).order_by(NeedCategory.sort_order, NeedCategory.code)
        )
    ).all()


async def claiming_organizations(session: AsyncSession, need_id: uuid.UUID) -> list[str]:
    """Names of the organizations whose claims on this need stand (active or fulfilled), in
    the order they first claimed it. Organization names are public; nothing of the household."""
    first = func.min(Claim.created_at)
    rows = await session.execute(
        select(Organization.name, first)
        .join(Claim, Claim.organization_id == Organization.id)
        .where(
            Claim.need_id == need_id,
            Claim.state.in_((ClaimState.ACTIVE, ClaimState.FULFILLED)),
        )
        .group_by(Organization.id, Organization.name)
        .order_by(first)
    )
    return [name for name, _ in rows.all()]


async def active_claim_count(session: AsyncSession, resource_id: uuid.UUID) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.resource_id == resource_id, Claim.state == ClaimState.ACTIVE)
        )
        or 0
    )


async def deliveries_under_claim(session: AsyncSession, claim_id: uuid.UUID) -> int:
    """Deliveries recorded under the claim's fulfilment that the household has not disputed."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .join(Fulfilment, Fulfilment.id == Delivery.fulfilment_id)
            .where(Fulfilment.claim_id == claim_id, Delivery.state != DeliveryState.DISPUTED)
        )
        or 0
    )


async def active_claim_of(
    session: AsyncSession, need_id: uuid.UUID, organization_id: uuid.UUID
) -> uuid.UUID | None:
    """The organization's newest active claim on the need, if any."""
    return await session.scalar(
        select(Claim.id)
        .where(
            Claim.need_id == need_id,
            Claim.organization_id == organization_id,
            Claim.state == ClaimState.ACTIVE,
        )
        .order_by(Claim.created_at.desc())
        .limit(1)
    )


async def active_claims_of_need(session: AsyncSession, need_id: uuid.UUID) -> Sequence[Claim]:
    """The need's active claims, locked (in id order, so two releases queue)."""
    return (
        await session.scalars(
            select(Claim)
            .where(Claim.need_id == need_id, Claim.state == ClaimState.ACTIVE)
            .order_by(Claim.id)
            .with_for_update()
        )
    ).all()
