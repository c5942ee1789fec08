"""Organization portal: public profile, invitations (link or one-time code), ranking.

Invitation secrets are stored only as SHA-256 hashes (``Invitation.token_hash``); the link
token or code is shown once to the administrator who made it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Invitation, Membership, Organization, OrgRole, OrgStatus
from backend.accounts.service import EMAIL_RE
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.households import service as households
from backend.organizations import repository as repo
from backend.organizations.repository import Figures
from backend.organizations.repository import (  # a read query other domains may call
    membership as membership,
)
from backend.organizations.scope import approved_organization, require_org_admin
from backend.outbox.service import emit, record_change
from backend.resources.service import known_regions

LINK_DAYS = 7
CODE_HOURS = 48
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
CODE_LENGTH = 8


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.strip().upper().encode()).hexdigest()


def _actor(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id)


async def update_profile(
    session: AsyncSession,
    actor: CurrentUser,
    org_id: uuid.UUID,
    *,
    name: str,
    name_en: str,
    description: str,
    service_area: list[str],
    contact_email: str,
    logo_path: str | None = None,
) -> Organization:
    require_org_admin(actor, org_id)
    org = await get_by_id(session, Organization, org_id, for_update=True)
    if org is None:
        raise NotFound(N_("Organization not found."))
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "required"
    elif len(name.strip()) > 200:
        errors["name"] = "too_long"
    area = sorted({c.strip() for c in service_area if c.strip()})
    if not area or await known_regions(session, area) != set(area):
        errors["service_area"] = "invalid"
    if contact_email.strip() and not EMAIL_RE.match(contact_email.strip()):
        errors["contact_email"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    await households.check_organization_text(
        session, org.id, {"description": description.strip()[:5000]}
    )
    org.name = name.strip()
    org.name_en = name_en.strip()[:200]
    org.description = description.strip()[:5000]
    org.service_area = area
    org.contact_email = contact_email.strip()
    if logo_path is not None:
        org.logo_path = logo_path
    await record(
        session,
        actor=_actor(actor),
        action="organization.profile_updated",
        object_type="organization",
        object_id=org.id,
        region_code=org.region_code,
        detail={
            "fields": ["name", "name_en", "description", "service_area", "contact_email"]
            + (["logo"] if logo_path else [])
        },
    )
    await emit(
        session, topic="organization.updated", aggregate_type="organization", aggregate_id=org.id
    )
    await session.flush()
    return org


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    secret: str  # the link token or the one-time code, shown once
    kind: str  # "link" | "code"


async def invite(
    session: AsyncSession,
    actor: CurrentUser,
    org_id: uuid.UUID,
    *,
    kind: str,
    email: str = "",
    role: str = "member",
) -> NewInvitation:
    await approved_organization(
        session,
        actor,
        org_id,
        refusal=N_("Your organization must be approved before it can invite members."),
        admin_only=True,
    )
    errors: dict[str, str] = {}
    if kind not in {"link", "code"}:
        errors["kind"] = "invalid"
    if role not in {r.value for r in OrgRole}:
        errors["role"] = "invalid"
    email = email.strip()
    if kind == "link" and not EMAIL_RE.match(email):
        errors["email"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    if kind == "link":
        secret = secrets.token_urlsafe(24)
        expires = utcnow() + timedelta(days=LINK_DAYS)
    else:
        secret = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        expires = utcnow() + timedelta(hours=CODE_HOURS)
    invitation = Invitation(
        id=uuid.uuid4(),
        organization_id=org_id,
        email=email if kind == "link" else "",
        token_hash=_hash(secret),
        role=OrgRole(role),
        invited_by=actor.id,
        expires_at=expires,
    )
    session.add(invitation)
    await session.flush()
    await record_change(
        session,
        actor=_actor(actor),
        action="invitation.created",
        object_type="organization",
        object_id=org_id,
        detail={"invitation_id": str(invitation.id), "kind": kind, "role": role},
        payload={"invitation_id": str(invitation.id)},
    )
    return NewInvitation(invitation, secret, kind)


async def accept_invitation(session: AsyncSession, actor: CurrentUser, secret: str) -> Organization:
    """Join with a link token or a one-time code; each works once, before it expires."""
    if not secret.strip():
        raise Invalid(N_("Enter the code you were given."), fields={"code": "required"})
    invitation = await repo.invitation_by_hash(session, _hash(secret))
    if invitation is None or invitation.expires_at <= utcnow():
        raise Invalid(
            N_("This invitation is not valid or has expired. Ask for a new one."),
            fields={"code": "invalid"},
        )
    if invitation.used_at is not None:
        raise Conflict(N_("This invitation has been used already."))
    if invitation.email and invitation.email.lower() != actor.email.lower():
        raise Forbidden(
            N_("This invitation was sent to another e-mail address. Sign in with that account.")
        )
    if await repo.membership(session, actor.id, invitation.organization_id) is not None:
        raise Conflict(N_("You are a member of this organization already."))
    org = await get_by_id(session, Organization, invitation.organization_id)
    if org is None:
        raise NotFound(N_("Organization not found."))
    invitation.used_at = utcnow()
    invitation.used_by = actor.id
    session.add(Membership(user_id=actor.id, organization_id=org.id, role=invitation.role))
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(N_("You are a member of this organization already.")) from exc
    await record_change(
        session,
        actor=_actor(actor),
        action="membership.joined",
        object_type="organization",
        object_id=org.id,
        detail={"invitation_id": str(invitation.id), "role": invitation.role.value},
        payload={"user_id": str(actor.id)},
    )
    return org


@dataclass(frozen=True)
class RankRow:
    rank: int
    organization: Organization
    figures: Figures
    tied: bool  # another listed organization has the same score and shares the rank


async def csr_ranking(
    session: AsyncSession, *, org_type: str | None = "company", limit: int = 50
) -> list[RankRow]:
    """Organizations with at least one verified record, by score; equal scores share a rank
    (1, 2, 2, 4) and are listed by name. One aggregate statement (``repository.ranking``)."""
    ranked = await repo.ranking(session, org_type=org_type or None, limit=limit)
    scores = [figs.score_hundredths for _, figs in ranked]
    rows: list[RankRow] = []
    for position, (org, figs) in enumerate(ranked, start=1):
        score = figs.score_hundredths
        rank = position if position == 1 or scores[position - 2] != score else rows[-1].rank
        rows.append(RankRow(rank, org, figs, tied=scores.count(score) > 1))
    return rows


async def organization_or_404(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    """The organization (any status) for pages its members open; 404 when it does not exist."""
    org = await get_by_id(session, Organization, org_id)
    if org is None:
        raise NotFound(N_("Organization not found."))
    return org


async def public_organization(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    """An approved organization's public profile; 404 for any other status."""
    org = await get_by_id(session, Organization, org_id)
    if org is None or org.status != OrgStatus.APPROVED:
        raise NotFound(N_("Organization not found."))
    return org
