"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import (
    Invitation,
    Membership,
    Organization,
    OrgStatus,
    OrgType,
    RoleGrant,
    User,
)
from backend.regions.models import Region


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.scalars(select(User).where(func.lower(User.email) == email.strip().lower()))
    ).first()


async def role_grants(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[RoleGrant, str | None]]:
    rows = await session.execute(
        select(RoleGrant, Region.path)
        .outerjoin(Region, Region.code == RoleGrant.region_code)
        .where(RoleGrant.user_id == user_id)
        .order_by(RoleGrant.role)
    )
    return [(grant, path) for grant, path in rows.all()]


async def memberships(
    session: AsyncSession, user_id: uuid.UUID
) -> Sequence[tuple[Membership, Organization]]:
    rows = await session.execute(
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name)
    )
    return [(m, o) for m, o in rows.all()]


async def organizations(
    session: AsyncSession,
    *,
    status: OrgStatus | None = None,
    org_type: OrgType | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[Organization], int]:
    query = select(Organization)
    if status is not None:
        query = query.where(Organization.status == status)
    if org_type is not None:
        query = query.where(Organization.org_type == org_type)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Organization.created_at.desc()).offset(offset).limit(limit)
    )
    return rows.all(), total


async def organization_by_uscc(session: AsyncSession, uscc: str) -> Organization | None:
    return (await session.scalars(select(Organization).where(Organization.uscc == uscc))).first()


async def open_invitations_for(session: AsyncSession, email: str) -> list[tuple[Invitation, str]]:
    """Unused, unexpired invitations addressed to ``email``, with the organization's name."""
    rows = await session.execute(
        select(Invitation, Organization.name)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(
            func.lower(Invitation.email) == email.lower(),
            Invitation.used_at.is_(None),
            Invitation.expires_at > func.now(),
        )
        .order_by(Invitation.created_at.desc())
    )
    return [(r[0], r[1]) for r in rows]
