"""OpenID Connect accounts: link by (issuer, subject), pending accounts and their approval.

An identity provider's user is never matched to an existing account by e-mail: the first
sign-in creates a new account linked to (issuer, subject). That account waits for approval by
an administrator of the provider's organization (or a platform administrator), unless the
provider is marked ``trusted`` for its organization. The provider's e-mail claim is not stored
as the account's address (two providers may assert the same address, and an address asserted
by a provider must not take over or block a local account); the account gets a unique
non-deliverable address instead.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import repository as repo
from backend.accounts.identity import CurrentUser
from backend.accounts.models import (
    REGION_SCOPED_ROLES,
    Membership,
    OIDCLink,
    OrgRole,
    Role,
    RoleGrant,
    User,
    UserStatus,
)
from backend.audit.service import Actor, record
from backend.config import OIDCProviderSettings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.integrations.oidc import Identity
from backend.outbox.service import emit, record_change


def placeholder_email(provider: OIDCProviderSettings, subject: str) -> str:
    digest = hashlib.sha256(f"{provider.issuer}|{subject}".encode()).hexdigest()[:24]
    return f"oidc-{provider.name}-{digest}@oidc.invalid"


def _org_id(provider: OIDCProviderSettings) -> uuid.UUID | None:
    return uuid.UUID(provider.organization_id) if provider.organization_id else None


def _role(provider: OIDCProviderSettings) -> Role | None:
    """Only roles without a region can come from a provider; regions are granted by hand."""
    if provider.role and provider.role in {r.value for r in Role}:
        role = Role(provider.role)
        if role not in REGION_SCOPED_ROLES and role != Role.ADMIN:
            return role
    return None


async def link_for(session: AsyncSession, issuer: str, subject: str) -> OIDCLink | None:
    return await repo.oidc_link(session, issuer, subject)


async def _grant_access(session: AsyncSession, provider: OIDCProviderSettings, user: User) -> None:
    org_id = _org_id(provider)
    if org_id is not None and not await repo.is_member(session, user.id, org_id):
        session.add(Membership(user_id=user.id, organization_id=org_id, role=OrgRole.MEMBER))
    role = _role(provider)
    if role is not None and not await repo.has_role_grant(session, user.id, role):
        session.add(RoleGrant(user_id=user.id, role=role))
    await session.flush()


async def sign_in(
    session: AsyncSession, provider: OIDCProviderSettings, identity: Identity
) -> User:
    """The account linked to this (issuer, subject); a new one on first sign-in."""
    link = await link_for(session, identity.issuer, identity.subject)
    if link is not None:
        user = await get_by_id(session, User, link.user_id)
        if user is None:  # pragma: no cover - the link cascades with the user
            raise NotFound(N_("Account not found."))
        if user.status == UserStatus.ACTIVE:
            user.last_login_at = utcnow()
            await record(
                session,
                actor=Actor("user", user.id),
                action="user.signed_in",
                object_type="user",
                object_id=user.id,
                detail={"via": f"oidc:{provider.name}"},
            )
        await session.flush()
        return user
    trusted = provider.trusted and provider.organization_id is not None
    user = User(
        id=uuid.uuid4(),
        email=placeholder_email(provider, identity.subject),
        display_name=(identity.name or provider.label or provider.name).strip()[:100],
        password_hash=None,
        status=UserStatus.ACTIVE if trusted else UserStatus.PENDING,
        last_login_at=utcnow() if trusted else None,
    )
    session.add(user)
    await session.flush()
    session.add(OIDCLink(user_id=user.id, issuer=identity.issuer, subject=identity.subject))
    try:
        await session.flush()
    except IntegrityError as exc:  # the same person signing in twice at once
        raise Conflict(N_("This sign-in is being set up already. Please try again.")) from exc
    if trusted:
        await _grant_access(session, provider, user)
    await record(
        session,
        actor=Actor("user", user.id),
        action="user.oidc_registered",
        object_type="user",
        object_id=user.id,
        detail={"provider": provider.name, "status": user.status.value},
    )
    await emit(session, topic="user.signed_up", aggregate_type="user", aggregate_id=user.id)
    await session.flush()
    return user


def provider_for_issuer(
    providers: Sequence[OIDCProviderSettings], issuer: str
) -> OIDCProviderSettings | None:
    return next((p for p in providers if p.issuer == issuer), None)


def _issuers_for_org(providers: Sequence[OIDCProviderSettings], org_id: uuid.UUID) -> list[str]:
    return [
        p.issuer for p in providers if p.organization_id and uuid.UUID(p.organization_id) == org_id
    ]


async def pending_users(
    session: AsyncSession, *, issuers: Sequence[str] | None, offset: int, limit: int
) -> tuple[Sequence[tuple[User, OIDCLink]], int]:
    """Pending accounts created by OIDC sign-in, of these issuers (None: every issuer)."""
    return await repo.pending_oidc_users(session, issuers=issuers, offset=offset, limit=limit)


def can_review_for_org(actor: CurrentUser, org_id: uuid.UUID) -> bool:
    return actor.is_admin or actor.org_role(org_id) == OrgRole.ADMIN


def check_org_reviewer(actor: CurrentUser, org_id: uuid.UUID) -> None:
    """Org admins and platform admins review; members see 403, everyone else 404."""
    if can_review_for_org(actor, org_id):
        return
    if actor.org_role(org_id) is not None:
        raise Forbidden(N_("Only an administrator of this organization can approve accounts."))
    raise NotFound(N_("Organization not found."))


async def review(
    session: AsyncSession,
    actor: CurrentUser,
    providers: Sequence[OIDCProviderSettings],
    user_id: uuid.UUID,
    *,
    approve: bool,
    org_id: uuid.UUID | None = None,
) -> User:
    """Approve (active, with the provider's organization and role) or reject (disabled).

    ``org_id`` set: an organization admin reviewing accounts of that organization's providers.
    """
    if org_id is None:
        if not actor.is_admin:
            raise Forbidden(N_("Only a platform administrator can approve accounts."))
        issuers = None
    else:
        check_org_reviewer(actor, org_id)
        issuers = _issuers_for_org(providers, org_id)
    user = await get_by_id(session, User, user_id, for_update=True)
    link = await repo.oidc_link_of_user(session, user_id)
    if user is None or link is None or (issuers is not None and link.issuer not in issuers):
        raise NotFound(N_("Account not found."))
    if user.status != UserStatus.PENDING:
        raise Conflict(N_("This account was reviewed already."))
    provider = provider_for_issuer(providers, link.issuer)
    if approve:
        user.status = UserStatus.ACTIVE
        if provider is not None:
            await _grant_access(session, provider, user)
    else:
        user.status = UserStatus.DISABLED
    action = "user.approved" if approve else "user.rejected"
    await record_change(
        session,
        actor=Actor("user", actor.id),
        action=action,
        object_type="user",
        object_id=user.id,
        detail={"issuer_provider": provider.name if provider else None},
    )
    await session.flush()
    return user
