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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Invitation, Membership, Organization, OrgStatus, OrgType, User
from backend.donations.models import EntryType, LedgerEntry
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment, FulfilmentState
from backend.needs.models import Need
from backend.projects.models import Project
from backend.regions.repository import in_subtrees
from backend.volunteering.models import HoursLog, HoursState

HUNDREDTHS = Decimal("0.01")


@dataclass(frozen=True)
class Figures:
    """An organization's verified figures (see the module docstring) and its CSR score.

    ``funds_delivered_fen``: money that reached people, counted from records someone else
    confirmed: expenses booked in its projects' public ledgers after four-eyes approval, plus
    money the households confirmed receiving from it (deliveries of needs counted in money:
    a company's cash help).
    """

    needs_fulfilled: int = 0
    households_helped: int = 0
    volunteer_minutes: int = 0
    funds_delivered_fen: int = 0

    @property
    def volunteer_hours(self) -> Decimal:
        """Hours with two decimals, never truncated to whole hours (330 minutes → 5.50)."""
        return (Decimal(self.volunteer_minutes) / 60).quantize(HUNDREDTHS, ROUND_HALF_UP)

    @property
    def volunteer_hours_text(self) -> str:
        """5.50 → "5.5", 5.00 → "5", 0.33 → "0.33"."""
        text = f"{self.volunteer_hours:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    @property
    def score_hundredths(self) -> int:
        """The CSR formula in hundredths of a point (what ranks; ``score`` shows it)."""
        return int(
            score_hundredths(
                self.households_helped,
                self.needs_fulfilled,
                self.volunteer_minutes,
                self.funds_delivered_fen,
            )
        )

    @property
    def score(self) -> Decimal:
        """Points with two decimals (17.00, 20.50): exactly what ranks."""
        return (Decimal(self.score_hundredths) / 100).quantize(HUNDREDTHS)

    @property
    def verified(self) -> bool:
        """Has at least one verified record (only these organizations are ranked)."""
        return any(
            (
                self.needs_fulfilled,
                self.households_helped,
                self.volunteer_minutes,
                self.funds_delivered_fen,
            )
        )


def score_hundredths(households: Any, needs: Any, minutes: Any, funds_fen: Any) -> Any:
    """10 per household helped, 5 per need fulfilled, 1 per volunteer hour (to the minute),
    1 per ¥1,000 delivered; in hundredths of a point, rounded down. The same expression on
    Python ints and on SQL integer columns (SQLAlchemy renders ``//`` of integers as
    PostgreSQL's integer division; every operand is non-negative)."""
    return 1000 * households + 500 * needs + minutes * 100 // 60 + funds_fen // 1000


async def directory(
    session: AsyncSession,
    *,
    org_type: str | None = None,
    region_paths: Sequence[str] = (),
    q: str | None = None,
    offset: int = 0,
    limit: int = 20,
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


def _figure_ctes(org_ids: Any) -> tuple[Any, Any, Any]:
    """Per organization in ``org_ids`` (a list or a subquery of ids): confirmed deliveries
    (needs, households, money confirmed), approved volunteer minutes, approved expenses."""
    is_cash = Need.quantity.is_(None) & Need.amount_fen.is_not(None)
    confirmed = (
        select(
            Fulfilment.organization_id.label("org"),
            Fulfilment.need_id.label("need_id"),
            Need.household_id.label("household_id"),
            Delivery.quantity.label("quantity"),
            is_cash.label("cash"),
        )
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Fulfilment.organization_id.in_(org_ids), Delivery.state == DeliveryState.CONFIRMED)
        .cte("confirmed")
    )
    deliveries = (
        select(
            confirmed.c.org,
            func.count(func.distinct(confirmed.c.need_id)).label("needs"),
            func.count(func.distinct(confirmed.c.household_id)).label("households"),
            cast(
                func.coalesce(func.sum(confirmed.c.quantity).filter(confirmed.c.cash.is_(True)), 0),
                BigInteger,
            ).label("cash_fen"),
        )
        .group_by(confirmed.c.org)
        .cte("delivered")
    )
    hours = (
        select(
            HoursLog.organization_id.label("org"),
            cast(func.sum(HoursLog.minutes), BigInteger).label("minutes"),
        )
        .where(HoursLog.organization_id.in_(org_ids), HoursLog.state == HoursState.APPROVED)
        .group_by(HoursLog.organization_id)
        .cte("hours")
    )
    spent = (
        select(
            Project.organization_id.label("org"),
            cast(-func.sum(LedgerEntry.amount_fen), BigInteger).label("spent_fen"),
        )
        .join(Project, Project.id == LedgerEntry.project_id)
        .where(
            Project.organization_id.in_(org_ids),
            LedgerEntry.entry_type == EntryType.DISBURSEMENT,
        )
        .group_by(Project.organization_id)
        .cte("spent")
    )
    return deliveries, hours, spent


def _figure_columns(deliveries: Any, hours: Any, spent: Any) -> list[Any]:
    return [
        func.coalesce(deliveries.c.needs, 0).label("needs"),
        func.coalesce(deliveries.c.households, 0).label("households"),
        func.coalesce(hours.c.minutes, 0).label("minutes"),
        (func.coalesce(deliveries.c.cash_fen, 0) + func.coalesce(spent.c.spent_fen, 0)).label(
            "funds_fen"
        ),
    ]


def _with_figures(query: Any, deliveries: Any, hours: Any, spent: Any) -> Any:
    return (
        query.outerjoin(deliveries, deliveries.c.org == Organization.id)
        .outerjoin(hours, hours.c.org == Organization.id)
        .outerjoin(spent, spent.c.org == Organization.id)
    )


def _figures_of(row: Any) -> Figures:
    return Figures(
        needs_fulfilled=int(row.needs),
        households_helped=int(row.households),
        volunteer_minutes=int(row.minutes),
        funds_delivered_fen=int(row.funds_fen),
    )


async def figures(session: AsyncSession, org_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Figures]:
    """The verified figures of these organizations, in one statement."""
    if not org_ids:
        return {}
    ids = list(org_ids)
    deliveries, hours, spent = _figure_ctes(ids)
    query = _with_figures(
        select(Organization.id, *_figure_columns(deliveries, hours, spent)),
        deliveries,
        hours,
        spent,
    ).where(Organization.id.in_(ids))
    found = {row.id: _figures_of(row) for row in (await session.execute(query)).all()}
    return {org: found.get(org, Figures()) for org in org_ids}


async def ranking(
    session: AsyncSession, *, org_type: str | None = None, limit: int = 50
) -> Sequence[tuple[Organization, Figures]]:
    """The CSR ranking in one aggregate statement: approved organizations (of one type) that
    have at least one verified record, by score (hundredths of a point) then name.

    Cost: one pass over the eligible organizations' confirmed deliveries (through
    ``ix_fulfilments_organization_id`` and ``ix_deliveries_fulfilment_id``), approved hours and
    disbursement entries, grouped per organization; the sort is over organizations only.
    """
    eligible = select(Organization.id).where(Organization.status == OrgStatus.APPROVED)
    if org_type:
        eligible = eligible.where(Organization.org_type == org_type)
    deliveries, hours, spent = _figure_ctes(eligible)
    needs, households, minutes, funds = _figure_columns(deliveries, hours, spent)
    score = score_hundredths(households, needs, minutes, funds)
    query = (
        _with_figures(
            select(Organization, needs, households, minutes, funds), deliveries, hours, spent
        )
        .where(Organization.status == OrgStatus.APPROVED)
        .where(
            (deliveries.c.org.is_not(None))
            | (hours.c.org.is_not(None))
            | (spent.c.org.is_not(None))
        )
        .where((needs + households + minutes + funds) > 0)
        .order_by(score.desc(), Organization.name, Organization.id)
        .limit(limit)
    )
    if org_type:
        query = query.where(Organization.org_type == org_type)
    return [(row[0], _figures_of(row)) for row in (await session.execute(query)).all()]


async def members(session: AsyncSession, org_id: uuid.UUID) -> Sequence[tuple[Membership, User]]:
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == org_id)
        .order_by(Membership.created_at)
    )
    return [(m, u) for m, u in rows.all()]


async def open_invitations(
    session: AsyncSession, org_id: uuid.UUID, now: datetime
) -> Sequence[Invitation]:
    return (
        await session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org_id,
                Invitation.used_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
        )
    ).all()


async def invitation_by_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    return (
        await session.scalars(
            select(Invitation).where(Invitation.token_hash == token_hash).with_for_update()
        )
    ).first()


async def membership(
    session: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID
) -> Membership | None:
    return (
        await session.scalars(
            select(Membership).where(
                Membership.user_id == user_id, Membership.organization_id == org_id
            )
        )
    ).first()


async def open_fulfilments(
    session: AsyncSession, org_id: uuid.UUID
) -> Sequence[tuple[Fulfilment, Need]]:
    rows = await session.execute(
        select(Fulfilment, Need)
        .join(Need, Need.id == Fulfilment.need_id)
        .where(Fulfilment.organization_id == org_id, Fulfilment.state == FulfilmentState.OPEN)
        .order_by(Fulfilment.created_at)
        .limit(50)
    )
    return [(f, n) for f, n in rows.all()]
