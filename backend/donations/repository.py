"""Every query of the donations domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization
from backend.donations.models import (
    BankAccountState,
    Disbursement,
    DisbursementState,
    Donation,
    DonationChannel,
    DonationState,
    EntryType,
    LedgerEntry,
    OrgBankAccount,
    PendingEffect,
)
from backend.outbox.models import ExternalEvent
from backend.projects.models import Project


async def project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    return await session.get(Project, project_id)


async def lock_project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    """``SELECT … FOR UPDATE`` on the project: every ledger booking of a project is serialized."""
    return (
        await session.scalars(
            select(Project)
            .where(Project.id == project_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def add_raised(session: AsyncSession, project_id: uuid.UUID, delta_fen: int) -> None:
    """Keep ``projects.raised_fen`` (net donations) current without bumping its edit version."""
    await session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(raised_fen=func.greatest(Project.raised_fen + delta_fen, 0))
        .execution_options(synchronize_session=False)
    )


async def organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, org_id)


async def balance(session: AsyncSession, project_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
            LedgerEntry.project_id == project_id
        )
    )
    return int(total or 0)


@dataclass(frozen=True)
class Totals:
    donated_fen: int
    refunded_fen: int
    disbursed_fen: int
    adjusted_fen: int
    balance_fen: int
    donations: int


async def totals(session: AsyncSession, project_id: uuid.UUID) -> Totals:
    rows = (
        await session.execute(
            select(LedgerEntry.entry_type, func.sum(LedgerEntry.amount_fen), func.count())
            .where(LedgerEntry.project_id == project_id)
            .group_by(LedgerEntry.entry_type)
        )
    ).all()
    by_type = {entry_type: (int(total), int(count)) for entry_type, total, count in rows}

    def amount(*types: EntryType) -> int:
        return sum(by_type.get(t, (0, 0))[0] for t in types)

    return Totals(
        donated_fen=amount(EntryType.DONATION),
        refunded_fen=-amount(EntryType.REFUND, EntryType.DISPUTE),
        disbursed_fen=-amount(EntryType.DISBURSEMENT),
        adjusted_fen=amount(EntryType.ADJUSTMENT),
        balance_fen=sum(total for total, _ in by_type.values()),
        donations=by_type.get(EntryType.DONATION, (0, 0))[1],
    )


async def entries(
    session: AsyncSession, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = 50
) -> tuple[Sequence[tuple[LedgerEntry, Donation | None, Disbursement | None]], int]:
    """Newest first, each with its donation (for the public donor name) or disbursement."""
    total = (
        await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.project_id == project_id)
        )
        or 0
    )
    query = (
        select(LedgerEntry, Donation, Disbursement)
        .outerjoin(Donation, Donation.id == LedgerEntry.donation_id)
        .outerjoin(Disbursement, Disbursement.ledger_entry_id == LedgerEntry.id)
        .where(LedgerEntry.project_id == project_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.execute(query)).all()
    return [(e, d, b) for e, d, b in rows], int(total)


async def credit_entry(session: AsyncSession, donation_id: uuid.UUID) -> LedgerEntry | None:
    return (
        await session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.donation_id == donation_id, LedgerEntry.entry_type == EntryType.DONATION
            )
        )
    ).first()


async def entry_for(
    session: AsyncSession, payment_key: str, entry_type: EntryType
) -> LedgerEntry | None:
    return (
        await session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.payment_intent_id == payment_key, LedgerEntry.entry_type == entry_type
            )
        )
    ).first()


async def lock_donation(session: AsyncSession, donation_id: uuid.UUID) -> Donation | None:
    return (
        await session.scalars(
            select(Donation)
            .where(Donation.id == donation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def donation_by_intent(session: AsyncSession, payment_intent_id: str) -> Donation | None:
    return (
        await session.scalars(
            select(Donation).where(Donation.payment_intent_id == payment_intent_id)
        )
    ).first()


async def donations_of(
    session: AsyncSession, donor_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[tuple[Donation, Project]], int]:
    total = (
        await session.scalar(
            select(func.count()).select_from(Donation).where(Donation.donor_id == donor_id)
        )
        or 0
    )
    rows = (
        await session.execute(
            select(Donation, Project)
            .join(Project, Project.id == Donation.project_id)
            .where(Donation.donor_id == donor_id)
            .order_by(Donation.created_at.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    return [(d, p) for d, p in rows], int(total)


async def pending_pledges(session: AsyncSession, project_id: uuid.UUID) -> Sequence[Donation]:
    return (
        await session.scalars(
            select(Donation)
            .where(
                Donation.project_id == project_id,
                Donation.channel == DonationChannel.OFFLINE,
                Donation.state == DonationState.PENDING,
            )
            .order_by(Donation.created_at)
        )
    ).all()


async def disbursements(
    session: AsyncSession, project_id: uuid.UUID, *, state: DisbursementState | None = None
) -> Sequence[Disbursement]:
    query = select(Disbursement).where(Disbursement.project_id == project_id)
    if state is not None:
        query = query.where(Disbursement.state == state)
    return (await session.scalars(query.order_by(Disbursement.created_at.desc()))).all()


async def lock_disbursement(
    session: AsyncSession, disbursement_id: uuid.UUID
) -> Disbursement | None:
    return (
        await session.scalars(
            select(Disbursement)
            .where(Disbursement.id == disbursement_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def projects_of_orgs(
    session: AsyncSession, org_ids: Sequence[uuid.UUID]
) -> Sequence[tuple[Project, int]]:
    """The organizations' projects with their number of pledges waiting for confirmation."""
    waiting = (
        select(func.count())
        .where(
            Donation.project_id == Project.id,
            Donation.channel == DonationChannel.OFFLINE,
            Donation.state == DonationState.PENDING,
        )
        .correlate(Project)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(Project, waiting)
            .where(Project.organization_id.in_(org_ids))
            .order_by(Project.created_at.desc())
        )
    ).all()
    return [(p, int(n)) for p, n in rows]


async def expired_pledges(
    session: AsyncSession, now: datetime, *, limit: int = 500
) -> Sequence[Donation]:
    return (
        await session.scalars(
            select(Donation)
            .where(
                Donation.channel == DonationChannel.OFFLINE,
                Donation.state == DonationState.PENDING,
                Donation.expires_at < now,
            )
            .order_by(Donation.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def insert_external_event(
    session: AsyncSession,
    *,
    source: str,
    external_id: str,
    event_type: str,
    payload: dict[str, object],
) -> uuid.UUID | None:
    """``INSERT … ON CONFLICT DO NOTHING``: the new row's id, or None when it was known already."""
    new_id = uuid.uuid4()
    result = await session.execute(
        pg_insert(ExternalEvent)
        .values(
            id=new_id,
            source=source,
            external_id=external_id,
            event_type=event_type,
            payload=payload,
            error="",
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(ExternalEvent.id)
    )
    return result.scalar_one_or_none()


async def lock_external_event(session: AsyncSession, event_id: uuid.UUID) -> ExternalEvent | None:
    return (
        await session.scalars(
            select(ExternalEvent)
            .where(ExternalEvent.id == event_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def add_pending_effect(
    session: AsyncSession,
    *,
    payment_intent_id: str,
    entry_type: EntryType,
    amount_fen: int,
    external_event_id: uuid.UUID | None,
    note: str,
) -> None:
    await session.execute(
        pg_insert(PendingEffect)
        .values(
            id=uuid.uuid4(),
            payment_intent_id=payment_intent_id,
            entry_type=entry_type,
            amount_fen=amount_fen,
            external_event_id=external_event_id,
            note=note,
        )
        .on_conflict_do_nothing(index_elements=["payment_intent_id", "entry_type"])
    )


async def open_effects(
    session: AsyncSession, *, payment_intent_ids: Sequence[str]
) -> Sequence[PendingEffect]:
    if not payment_intent_ids:
        return []
    return (
        await session.scalars(
            select(PendingEffect)
            .where(
                PendingEffect.payment_intent_id.in_(payment_intent_ids),
                PendingEffect.applied_at.is_(None),
            )
            .order_by(PendingEffect.created_at)
            .with_for_update()
        )
    ).all()


async def open_effect_intents_of_project(
    session: AsyncSession, project_id: uuid.UUID
) -> Sequence[str]:
    """Payment intents of this project's credited donations with a debit still waiting."""
    return (
        await session.scalars(
            select(PendingEffect.payment_intent_id)
            .join(Donation, Donation.payment_intent_id == PendingEffect.payment_intent_id)
            .where(Donation.project_id == project_id, PendingEffect.applied_at.is_(None))
        )
    ).all()


async def public_disbursements(
    session: AsyncSession, project_id: uuid.UUID
) -> Sequence[Disbursement]:
    return await disbursements(session, project_id, state=DisbursementState.APPROVED)


async def project_id_of_donation(session: AsyncSession, donation_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(select(Donation.project_id).where(Donation.id == donation_id))


async def verified_bank_account(session: AsyncSession, org_id: uuid.UUID) -> OrgBankAccount | None:
    return (
        await session.scalars(
            select(OrgBankAccount).where(
                OrgBankAccount.organization_id == org_id,
                OrgBankAccount.state == BankAccountState.VERIFIED,
            )
        )
    ).first()


async def bank_account_of(session: AsyncSession, org_id: uuid.UUID) -> OrgBankAccount | None:
    return (
        await session.scalars(
            select(OrgBankAccount).where(OrgBankAccount.organization_id == org_id)
        )
    ).first()


async def lock_bank_account(session: AsyncSession, org_id: uuid.UUID) -> OrgBankAccount | None:
    return (
        await session.scalars(
            select(OrgBankAccount)
            .where(OrgBankAccount.organization_id == org_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def lock_bank_account_by_id(
    session: AsyncSession, account_id: uuid.UUID
) -> OrgBankAccount | None:
    return (
        await session.scalars(
            select(OrgBankAccount)
            .where(OrgBankAccount.id == account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()


async def bank_accounts(
    session: AsyncSession, *, state: BankAccountState, limit: int = 100
) -> Sequence[tuple[OrgBankAccount, str]]:
    """Accounts in one state with their organization's name, oldest change first."""
    rows = await session.execute(
        select(OrgBankAccount, Organization.name)
        .join(Organization, Organization.id == OrgBankAccount.organization_id)
        .where(OrgBankAccount.state == state)
        .order_by(OrgBankAccount.updated_at, OrgBankAccount.id)
        .limit(limit)
    )
    return [(a, n) for a, n in rows.all()]
