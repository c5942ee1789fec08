"""Queries of the organization portal, the directory, verified figures and the CSR ranking.

Verified figures count only records someone other than the organization confirmed: deliveries
the household (or its caseworker) confirmed, volunteer hours the organization approved after
attendance or review, and disbursements booked in the public ledger after four-eyes approval.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Invitation, Membership, Organization, OrgStatus, OrgType, User
from backend.donations.models import EntryType, LedgerEntry
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment, FulfilmentState
from backend.needs.models import Need
from backend.projects.models import Project
from backend.regions.repository import in_subtrees
from backend.volunteering.models import HoursLog, HoursState


@dataclass(frozen=True)
class Figures:
    needs_fulfilled: int = 0
    households_helped: int = 0
    volunteer_minutes: int = 0
    funds_delivered_fen: int = 0

    @property
    def volunteer_hours(self) -> int:
        return self.volunteer_minutes // 60

    @property
    def score(self) -> int:
        """The CSR formula, as shown on the ranking page."""
        return (
            10 * self.households_helped
            + 5 * self.needs_fulfilled
            + self.volunteer_hours
            + self.funds_delivered_fen // 100_000
        )


async def directory(
    session: AsyncSession, *, org_type: str | None = None, region_paths: Sequence[str] = (),
    q: str | None = None, offset: int = 0, limit: int = 20,
) -> tuple[Sequence[Organization], int]:
    query = select(Organization).where(Organization.status == OrgStatus.APPROVED)
    if org_type and org_type in {t.value for t in OrgType}:
        query = query.where(Organization.org_type == org_type)
    if region_paths:
        query = query.where(in_subtrees(Organization.region_code, region_paths))
    if q:
        query = query.where(Organization.name.contains(q.strip(), autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(Organization.name).offset(offset).limit(limit))
    return rows.all(), total


def _confirmed_needs(org_ids: Sequence[uuid.UUID]) -> Select[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]:
    return (
        select(Fulfilment.organization_id, Fulfilment.need_id, Need.household_id)
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Fulfilment.organization_id.in_(org_ids), Delivery.state == DeliveryState.CONFIRMED)
        .distinct()
    )


async def figures(session: AsyncSession, org_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Figures]:
    if not org_ids:
        return {}
    confirmed = _confirmed_needs(org_ids).subquery()
    needs = {
        org: (n, h)
        for org, n, h in (
            await session.execute(
                select(confirmed.c.organization_id, func.count(func.distinct(confirmed.c.need_id)),
                       func.count(func.distinct(confirmed.c.household_id)))
                .group_by(confirmed.c.organization_id)
            )
        ).all()
    }
    minutes = dict(
        (
            await session.execute(
                select(HoursLog.organization_id, func.coalesce(func.sum(HoursLog.minutes), 0))
                .where(HoursLog.organization_id.in_(org_ids), HoursLog.state == HoursState.APPROVED)
                .group_by(HoursLog.organization_id)
            )
        ).all()
    )
    funds = dict(
        (
            await session.execute(
                select(Project.organization_id, func.coalesce(-func.sum(LedgerEntry.amount_fen), 0))
                .join(Project, Project.id == LedgerEntry.project_id)
                .where(Project.organization_id.in_(org_ids), LedgerEntry.entry_type == EntryType.DISBURSEMENT)
                .group_by(Project.organization_id)
            )
        ).all()
    )
    return {
        org: Figures(
            needs_fulfilled=int(needs.get(org, (0, 0))[0]), households_helped=int(needs.get(org, (0, 0))[1]),
            volunteer_minutes=int(minutes.get(org, 0)), funds_delivered_fen=int(funds.get(org, 0)),
        )
        for org in org_ids
    }


async def approved_orgs(session: AsyncSession, *, org_type: str | None = None) -> Sequence[Organization]:
    query = select(Organization).where(Organization.status == OrgStatus.APPROVED)
    if org_type:
        query = query.where(Organization.org_type == org_type)
    return (await session.scalars(query)).all()


async def members(session: AsyncSession, org_id: uuid.UUID) -> Sequence[tuple[Membership, User]]:
    rows = await session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == org_id).order_by(Membership.created_at)
    )
    return [(m, u) for m, u in rows.all()]


async def open_invitations(session: AsyncSession, org_id: uuid.UUID, now: datetime) -> Sequence[Invitation]:
    return (
        await session.scalars(
            select(Invitation).where(
                Invitation.organization_id == org_id, Invitation.used_at.is_(None), Invitation.expires_at > now
            ).order_by(Invitation.created_at.desc())
        )
    ).all()


async def invitation_by_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    return (
        await session.scalars(select(Invitation).where(Invitation.token_hash == token_hash).with_for_update())
    ).first()


async def membership(session: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID) -> Membership | None:
    return (
        await session.scalars(
            select(Membership).where(Membership.user_id == user_id, Membership.organization_id == org_id)
        )
    ).first()


async def open_fulfilments(session: AsyncSession, org_id: uuid.UUID) -> Sequence[tuple[Fulfilment, Need]]:
    rows = await session.execute(
        select(Fulfilment, Need).join(Need, Need.id == Fulfilment.need_id)
        .where(Fulfilment.organization_id == org_id, Fulfilment.state == FulfilmentState.OPEN)
        .order_by(Fulfilment.created_at).limit(50)
    )
    return [(f, n) for f, n in rows.all()]
