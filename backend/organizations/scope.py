"""Who may act for an organization. Outside one's organization the answer is 404, not 403."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Organization, OrgRole, OrgStatus
from backend.core.errors import Forbidden, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id


def require_member(user: CurrentUser, organization_id: uuid.UUID) -> OrgRole:
    """The user's role in this approved organization; 404 when not a member (admins pass)."""
    role = user.org_role(organization_id)
    if role is not None:
        return role
    if user.is_admin:
        return OrgRole.ADMIN
    raise NotFound(N_("Organization not found."))


def require_org_admin(user: CurrentUser, organization_id: uuid.UUID) -> None:
    """Members see the organization; only its administrators change profile and members."""
    if require_member(user, organization_id) != OrgRole.ADMIN:
        raise Forbidden(N_("Only an administrator of the organization can do this."))


def is_member(user: CurrentUser | None, organization_id: uuid.UUID) -> bool:
    return user is not None and user.org_role(organization_id) is not None


async def approved_organization(
    session: AsyncSession,
    user: CurrentUser,
    organization_id: uuid.UUID,
    *,
    refusal: str,
    admin_only: bool = False,
) -> Organization:
    """The organization a member acts for: 404 outside it, 403 (``refusal``) until approved."""
    if admin_only:
        require_org_admin(user, organization_id)
    else:
        require_member(user, organization_id)
    org = await get_by_id(session, Organization, organization_id)
    if org is None:
        raise NotFound(N_("Organization not found."))
    if org.status != OrgStatus.APPROVED:
        raise Forbidden(refusal)
    return org
