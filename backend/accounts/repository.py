"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import (
    Invitation,
    Membership,
    OIDCLink,
    Organization,
    OrgStatus,
    OrgType,
    Role,
    RoleGrant,
    User,
    UserStatus,
)
from backend.accounts.tokens import AccountToken
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


# --- OpenID Connect links ---------------------------------------------------------------


async def oidc_link(session: AsyncSession, issuer: str, subject: str) -> OIDCLink | None:
    return (
        await session.scalars(
            select(OIDCLink).where(OIDCLink.issuer == issuer, OIDCLink.subject == subject)
        )
    ).first()


async def oidc_link_of_user(session: AsyncSession, user_id: uuid.UUID) -> OIDCLink | None:
    return (await session.scalars(select(OIDCLink).where(OIDCLink.user_id == user_id))).first()


async def is_member(session: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID) -> bool:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == user_id, Membership.organization_id == org_id)
    )
    return bool(count)


async def has_role_grant(session: AsyncSession, user_id: uuid.UUID, role: Role) -> bool:
    count = await session.scalar(
        select(func.count())
        .select_from(RoleGrant)
        .where(RoleGrant.user_id == user_id, RoleGrant.role == role)
    )
    return bool(count)


async def pending_oidc_users(
    session: AsyncSession, *, issuers: Sequence[str] | None, offset: int, limit: int
) -> tuple[Sequence[tuple[User, OIDCLink]], int]:
    """Pending accounts created by OIDC sign-in, of these issuers (None: every issuer)."""
    query = (
        select(User, OIDCLink)
        .join(OIDCLink, OIDCLink.user_id == User.id)
        .where(User.status == UserStatus.PENDING)
    )
    if issuers is not None:
        query = query.where(OIDCLink.issuer.in_(list(issuers)))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(query.order_by(User.created_at).offset(offset).limit(limit))
    return [(u, link) for u, link in rows.all()], total


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


async def account_token(
    session: AsyncSession, token_hash: str, purpose: object
) -> AccountToken | None:
    """A one-time account token by its hash and purpose, locked (it is about to be used)."""
    return (
        await session.scalars(
            select(AccountToken)
            .where(AccountToken.token_hash == token_hash, AccountToken.purpose == purpose)
            .with_for_update()
        )
    ).first()
