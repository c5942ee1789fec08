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

from sqlalchemy import BigInteger, cast, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Invitation, Membership, Organization, OrgStatus, OrgType, User
from backend.donations.models import EntryType, LedgerEntry
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment, FulfilmentState
from backend.needs.models import Need
from backend.organizations.models import OrgFigureHousehold, OrgFigurePart, OrgFigures
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


def _figures_of(row: Any) -> Figures:
    return Figures(
        needs_fulfilled=int(row.needs),
        households_helped=int(row.households),
        volunteer_minutes=int(row.minutes),
        funds_delivered_fen=int(row.funds_fen),
    )


async def figures(session: AsyncSession, org_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Figures]:
    """The verified figures of these organizations: their ``org_figures`` rows (by primary key),
    kept by the outbox handlers (``organizations/figures.py``)."""
    if not org_ids:
        return {}
    rows = await session.execute(
        select(
            OrgFigures.organization_id.label("id"),
            OrgFigures.needs,
            OrgFigures.households,
            OrgFigures.minutes,
            OrgFigures.funds_fen,
        ).where(OrgFigures.organization_id.in_(list(org_ids)))
    )
    found = {row.id: _figures_of(row) for row in rows.all()}
    return {org: found.get(org, Figures()) for org in org_ids}


async def ranking(
    session: AsyncSession, *, org_type: str | None = None, limit: int = 50
) -> Sequence[tuple[Organization, Figures]]:
    """The CSR ranking: approved organizations (of one type) that have at least one verified
    record, by score (hundredths of a point) then name.

    Cost: one statement over the organizations' ``org_figures`` rows (one per organization,
    maintained by the outbox handlers), joined to the approved organizations; the sort is over
    organizations only, whatever the number of deliveries, hours and ledger entries.
    """
    f = OrgFigures
    score = score_hundredths(f.households, f.needs, f.minutes, f.funds_fen)
    query = (
        select(Organization, f.needs, f.households, f.minutes, f.funds_fen)
        .join(f, f.organization_id == Organization.id)
        .where(Organization.status == OrgStatus.APPROVED)
        .where((f.needs + f.households + f.minutes + f.funds_fen) > 0)
        .order_by(score.desc(), Organization.name, Organization.id)
        .limit(limit)
    )
    if org_type:
        query = query.where(Organization.org_type == org_type)
    return [(row[0], _figures_of(row)) for row in (await session.execute(query)).all()]


# ---------------------------------------------------------------- maintained figures


@dataclass(frozen=True)
class Part:
    """What one part (a fulfilled need, an approved hours log, a project's disbursements) adds
    to its organization's figures."""

    household_id: uuid.UUID | None = None
    needs: int = 0
    minutes: int = 0
    funds_fen: int = 0

    @property
    def counts(self) -> bool:
        return bool(self.needs or self.minutes or self.funds_fen)


async def lock_org_figures(session: AsyncSession, org_id: uuid.UUID) -> OrgFigures:
    """The organization's totals row, locked (created at zero first when missing): every change
    of one organization's figures takes turns on it, so the part and household rows below it
    need no lock of their own."""
    await session.execute(
        pg_insert(OrgFigures).values(organization_id=org_id).on_conflict_do_nothing()
    )
    return (
        await session.scalars(
            select(OrgFigures)
            .where(OrgFigures.organization_id == org_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def stored_part(
    session: AsyncSession, org_id: uuid.UUID, kind: str, part_id: uuid.UUID
) -> OrgFigurePart | None:
    return await session.get(OrgFigurePart, (org_id, kind, part_id), populate_existing=True)


async def stored_household(
    session: AsyncSession, org_id: uuid.UUID, household_id: uuid.UUID
) -> OrgFigureHousehold | None:
    return await session.get(OrgFigureHousehold, (org_id, household_id), populate_existing=True)


def _is_cash() -> Any:
    return Need.quantity.is_(None) & Need.amount_fen.is_not(None)


async def recount_need_part(session: AsyncSession, org_id: uuid.UUID, need_id: uuid.UUID) -> Part:
    """The organization's confirmed deliveries for one need (through ``ix_fulfilments_need_id``)."""
    row = (
        await session.execute(
            select(
                Need.household_id,
                func.count(Delivery.id).label("confirmed"),
                cast(
                    func.coalesce(func.sum(Delivery.quantity).filter(_is_cash()), 0), BigInteger
                ).label("cash_fen"),
            )
            .select_from(Fulfilment)
            .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
            .join(Need, Need.id == Fulfilment.need_id)
            .where(
                Fulfilment.need_id == need_id,
                Fulfilment.organization_id == org_id,
                Delivery.state == DeliveryState.CONFIRMED,
            )
            .group_by(Need.household_id)
        )
    ).first()
    if row is None or not row.confirmed:
        return Part()
    return Part(household_id=row.household_id, needs=1, funds_fen=int(row.cash_fen))


async def recount_hours_part(session: AsyncSession, org_id: uuid.UUID, log_id: uuid.UUID) -> Part:
    minutes = await session.scalar(
        select(HoursLog.minutes).where(
            HoursLog.id == log_id,
            HoursLog.organization_id == org_id,
            HoursLog.state == HoursState.APPROVED,
        )
    )
    return Part(minutes=int(minutes or 0))


async def recount_project_part(
    session: AsyncSession, org_id: uuid.UUID, project_id: uuid.UUID
) -> Part:
    spent = await session.scalar(
        select(cast(-func.coalesce(func.sum(LedgerEntry.amount_fen), 0), BigInteger))
        .join(Project, Project.id == LedgerEntry.project_id)
        .where(
            LedgerEntry.project_id == project_id,
            Project.organization_id == org_id,
            LedgerEntry.entry_type == EntryType.DISBURSEMENT,
        )
    )
    return Part(funds_fen=int(spent or 0))


async def orgs_of_need(session: AsyncSession, need_id: uuid.UUID) -> list[uuid.UUID]:
    """Every organization that has a fulfilment of the need (fulfilments are never deleted, so
    this holds every organization the need may count for)."""
    return list(
        await session.scalars(
            select(Fulfilment.organization_id)
            .where(Fulfilment.need_id == need_id)
            .distinct()
            .order_by(Fulfilment.organization_id)
        )
    )


async def need_of_delivery(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(organization, need) of a delivery."""
    row = (
        await session.execute(
            select(Fulfilment.organization_id, Fulfilment.need_id)
            .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
            .where(Delivery.id == delivery_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def org_of_hours(session: AsyncSession, log_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(HoursLog.organization_id).where(HoursLog.id == log_id))


async def hours_of_task(
    session: AsyncSession, task_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(organization, hours log) of a volunteer task's hours logs, in key order."""
    rows = await session.execute(
        select(HoursLog.organization_id, HoursLog.id)
        .where(HoursLog.task_id == task_id)
        .order_by(HoursLog.organization_id, HoursLog.id)
    )
    return [(o, h) for o, h in rows.all()]


async def org_of_project(session: AsyncSession, project_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Project.organization_id).where(Project.id == project_id))


async def org_figure_rows(
    session: AsyncSession,
) -> tuple[
    dict[uuid.UUID, tuple[int, int, int, int]],
    dict[tuple[Any, ...], tuple[Any, ...]],
    dict[tuple[uuid.UUID, uuid.UUID], int],
]:
    """Every maintained row (totals that are not all zero, parts, households): what the
    consistency test compares with a rebuild."""
    totals = {
        r.organization_id: (r.needs, r.households, r.minutes, r.funds_fen)
        for r in (await session.execute(select(OrgFigures))).scalars()
        if r.needs or r.households or r.minutes or r.funds_fen
    }
    parts = {
        (p.organization_id, p.kind, p.part_id): (p.household_id, p.needs, p.minutes, p.funds_fen)
        for p in (await session.execute(select(OrgFigurePart))).scalars()
    }
    households = {
        (h.organization_id, h.household_id): h.needs
        for h in (await session.execute(select(OrgFigureHousehold))).scalars()
    }
    return totals, parts, households


REBUILD_ORG_FIGURES = (
    "DELETE FROM org_figure_households",
    "DELETE FROM org_figure_parts",
    "DELETE FROM org_figures",
    # needs with at least one confirmed delivery, per organization: household and cash confirmed
    "INSERT INTO org_figure_parts"
    " (organization_id, kind, part_id, household_id, needs, minutes, funds_fen)"
    " SELECT f.organization_id, 'need', f.need_id, n.household_id, 1, 0,"
    "  coalesce(sum(d.quantity) FILTER (WHERE n.quantity IS NULL AND n.amount_fen IS NOT NULL), 0)"
    " FROM fulfilments f JOIN deliveries d ON d.fulfilment_id = f.id AND d.state = 'confirmed'"
    " JOIN needs n ON n.id = f.need_id"
    " GROUP BY f.organization_id, f.need_id, n.household_id",
    # approved hours
    "INSERT INTO org_figure_parts"
    " (organization_id, kind, part_id, household_id, needs, minutes, funds_fen)"
    " SELECT organization_id, 'hours', id, NULL, 0, minutes, 0"
    " FROM hours_logs WHERE state = 'approved'",
    # approved disbursements booked in a project's ledger
    "INSERT INTO org_figure_parts"
    " (organization_id, kind, part_id, household_id, needs, minutes, funds_fen)"
    " SELECT p.organization_id, 'project', p.id, NULL, 0, 0, -sum(e.amount_fen)"
    " FROM ledger_entries e JOIN projects p ON p.id = e.project_id"
    " WHERE e.entry_type = 'disbursement'"
    " GROUP BY p.organization_id, p.id HAVING sum(e.amount_fen) <> 0",
    "INSERT INTO org_figure_households (organization_id, household_id, needs)"
    " SELECT organization_id, household_id, count(*) FROM org_figure_parts"
    " WHERE kind = 'need' GROUP BY organization_id, household_id",
    "INSERT INTO org_figures (organization_id, needs, households, minutes, funds_fen)"
    " SELECT o.id, coalesce(p.needs, 0), coalesce(h.households, 0), coalesce(p.minutes, 0),"
    "  coalesce(p.funds_fen, 0)"
    " FROM organizations o"
    " LEFT JOIN (SELECT organization_id, sum(needs) AS needs, sum(minutes) AS minutes,"
    "   sum(funds_fen) AS funds_fen FROM org_figure_parts GROUP BY organization_id) p"
    "  ON p.organization_id = o.id"
    " LEFT JOIN (SELECT organization_id, count(*) AS households FROM org_figure_households"
    "   GROUP BY organization_id) h ON h.organization_id = o.id",
)


async def rebuild_org_figures(session: AsyncSession) -> None:
    """Recount every organization's figures from the deliveries, hours and ledgers (the
    migration, ``tongxin seed-scale``, the demo seeders and the consistency check); locks the
    three tables meanwhile."""
    await session.execute(
        text("LOCK TABLE org_figures, org_figure_parts, org_figure_households IN EXCLUSIVE MODE")
    )
    for statement in REBUILD_ORG_FIGURES:
        await session.execute(text(statement))


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
