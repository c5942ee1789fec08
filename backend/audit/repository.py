"""Queries of the audit domain outside the chain itself."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, RoleGrant, User, UserStatus


async def platform_admins_and_auditors(session: AsyncSession) -> Sequence[uuid.UUID]:
    """Active users holding the admin or the auditor role (who hear of a broken chain)."""
    return (
        await session.scalars(
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role.in_([Role.ADMIN, Role.AUDITOR]), User.status == UserStatus.ACTIVE)
            .distinct()
        )
    ).all()
