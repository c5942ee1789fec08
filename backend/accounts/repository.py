"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import (
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


async def identity(session: AsyncSession, user_id: uuid.UUID) -> Row[Any] | None:
    """The signed-in user, roles and memberships in ONE statement (every signed-in request
    resolves its user): the user's columns, ``grants`` as a JSON list of [role, region code,
    region path] and ``members`` as a JSON list of [organization id, role, status, name]."""
    grants = (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_array(RoleGrant.role, RoleGrant.region_code, Region.path),
                        RoleGrant.role,
                    )
                ),
                literal_column("'[]'::json"),
            )
        )
        .select_from(RoleGrant)
        .outerjoin(Region, Region.code == RoleGrant.region_code)
        .where(RoleGrant.user_id == User.id)
        .scalar_subquery()
    )
    members = (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_array(
                            Membership.organization_id,
                            Membership.role,
                            Organization.status,
                            Organization.name,
                        ),
                        Organization.name,
                    )
                ),
                literal_column("'[]'::json"),
            )
        )
        .select_from(Membership)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == User.id)
        .scalar_subquery()
    )
    return (
        await session.execute(
            select(
                User.id,
                User.email,
                User.display_name,
                User.locale,
                User.status,
                User.password_hash.is_not(None).label("has_password"),
                grants.label("grants"),
                members.label("members"),
            ).where(User.id == user_id)
        )
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
