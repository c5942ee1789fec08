"""Ledger rules: amounts in fen, pledges, four eyes, a balance that never goes negative."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from backend.accounts.service import load_current_user
from backend.audit.service import Actor
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.storage import LocalStorage
from backend.donations import service
from backend.donations.models import (
    Donation,
    DonationChannel,
    DonationState,
    EntryType,
    LedgerEntry,
)
from backend.donations.storage import ReceiptStorage
from backend.projects.models import ProjectState
from tests.donations.conftest import ledger_of, make_donation, make_project
from tests.fulfilment.factories import png_bytes

PNG = png_bytes()


@pytest.mark.parametrize(
    ("text_in", "fen"),
    [
        ("50", 5_000),
        ("50.5", 5_050),
        ("50.05", 5_005),
        ("¥1,000", 100_000),
        ("0.01", 1),
        (" 7 ", 700),
    ],
)
def test_parse_yuan(text_in: str, fen: int) -> None:
    assert service.parse_yuan(text_in) == fen


@pytest.mark.parametrize(
    "text_in", ["", "abc", "0", "-5", "1.001", "NaN", "Infinity", "1e3.5", "10000000.01"]
)
def test_parse_yuan_rejects(text_in: str) -> None:
    with pytest.raises(Invalid):
        service.parse_yuan(text_in)


async def test_blocked_projects(runtime: Any, demo: Any) -> None:
    reached = await make_project(runtime, demo, target_fen=10_000, raised_fen=10_000)
    overdue = await make_project(runtime, demo, overdue=True)
    closed = await make_project(runtime, demo, state=ProjectState.CLOSED)
    open_ = await make_project(runtime, demo)
    assert "target" in (service.blocked_reason(reached) or "")
    assert "overdue" in (service.blocked_reason(overdue) or "")
    assert service.blocked_reason(closed) is not None
    assert service.blocked_reason(open_) is None


async def test_offline_pledge_confirmed_by_the_organization(
    db: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    donor = await load_current_user(db, demo["donor"])
    member = await load_current_user(db, demo["org_member"])
    outsider = await load_current_user(db, demo["union_admin"])
    assert donor
    assert member
    assert outsider
    from backend.integrations.stripe import OfflinePaymentProvider

    submission = str(uuid.uuid4())
    kwargs = {
        "project_id": project.id,
        "amount_fen": 6_600,
        "anonymous": True,
        "message": "加油",
        "channel": DonationChannel.OFFLINE,
        "submission": submission,
        "provider": OfflinePaymentProvider(),
        "settings": runtime.settings,
    }
    pledge, url = await service.start_donation(db, donor, **kwargs)  # type: ignore[arg-type]
    again, _ = await service.start_donation(db, donor, **kwargs)  # type: ignore[arg-type]
    assert url is None
    assert again.id == pledge.id
    assert pledge.display_name == ""
    assert pledge.expires_at is not None
    with pytest.raises(Conflict):  # no online payment in the embedded footprint
        await service.start_donation(
            db,
            donor,
            **{
                **kwargs,
                "channel": DonationChannel.STRIPE,  # type: ignore[arg-type]
                "submission": str(uuid.uuid4()),
            },
        )
    with pytest.raises(NotFound):
        await service.confirm_pledge(db, outsider, pledge.id, reference="X")
    with pytest.raises(Invalid):
        await service.confirm_pledge(db, member, pledge.id, reference=" ")
    entry = await service.confirm_pledge(db, member, pledge.id, reference="ICBC-2026-001")
    assert (entry.entry_type, entry.amount_fen, entry.balance_after_fen) == (
        EntryType.DONATION,
        6_600,
        6_600,
    )
    assert pledge.state == DonationState.PAID
    assert pledge.offline_reference == "ICBC-2026-001"
    with pytest.raises(Conflict):
        await service.confirm_pledge(db, member, pledge.id, reference="again")


async def test_disbursement_needs_a_second_member_and_a_covering_balance(
    db: Any, runtime: Any, demo: Any, tmp_path: Any
) -> None:
    project = await make_project(runtime, demo)
    storage = ReceiptStorage(LocalStorage(tmp_path))
    member = await load_current_user(db, demo["org_member"])
    chair = await load_current_user(db, demo["org_admin"])
    assert member
    assert chair
    donation = await make_donation(
        runtime, project, demo["donor"], amount_fen=10_000, channel=DonationChannel.OFFLINE
    )
    await service.book_credit(
        db, donation.id, amount_fen=10_000, payment_intent_id=None, actor=Actor("user", chair.id)
    )

    with pytest.raises(Invalid):
        await service.request_disbursement(
            db,
            member,
            project.id,
            amount_fen=100,
            purpose="买材料",
            receipt=b"MZ\x90\x00",
            content_type="image/png",
            storage=storage,
        )
    with pytest.raises(Invalid):
        await service.request_disbursement(
            db,
            member,
            project.id,
            amount_fen=100,
            purpose="买材料",
            receipt=b"%PDF-1.7\n",  # receipts are images only: a PDF cannot be checked here
            content_type="application/pdf",
            storage=storage,
        )
    too_big = await service.request_disbursement(
        db,
        member,
        project.id,
        amount_fen=10_001,
        purpose="太多",
        receipt=PNG,
        content_type="image/png",
        storage=storage,
    )
    request = await service.request_disbursement(
        db,
        member,
        project.id,
        amount_fen=4_000,
        purpose="买防水材料",
        receipt=PNG,
        content_type="image/png",
        storage=storage,
    )
    stored, media = storage.load(request.receipt_path)
    assert media == "image/jpeg" and stored.startswith(b"\xff\xd8")  # re-encoded
    with pytest.raises(Forbidden):  # four eyes: not by the requester
        await service.decide_disbursement(db, member, request.id, approve=True)
    with pytest.raises(Conflict):  # would take the balance below zero
        await service.decide_disbursement(db, chair, too_big.id, approve=True)
    approved = await service.decide_disbursement(db, chair, request.id, approve=True)
    assert approved.ledger_entry_id is not None
    entries = (
        await db.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.project_id == project.id)
            .order_by(LedgerEntry.created_at)
        )
    ).all()
    assert [(e.entry_type, e.amount_fen, e.balance_after_fen) for e in entries] == [
        (EntryType.DONATION, 10_000, 10_000),
        (EntryType.DISBURSEMENT, -4_000, 6_000),
    ]
    assert entries[1].receipt_path == request.receipt_path


async def test_adjustments_only_by_org_admins_and_never_below_zero(
    db: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    member = await load_current_user(db, demo["org_member"])
    chair = await load_current_user(db, demo["org_admin"])
    assert member
    assert chair
    with pytest.raises(Forbidden):
        await service.book_adjustment(db, member, project.id, amount_fen=100, reason="更正")
    with pytest.raises(Invalid):
        await service.book_adjustment(db, chair, project.id, amount_fen=100, reason="")
    with pytest.raises(Conflict):
        await service.book_adjustment(db, chair, project.id, amount_fen=-1, reason="更正")
    entry = await service.book_adjustment(db, chair, project.id, amount_fen=250, reason="银行利息")
    assert entry.balance_after_fen == 250


async def _insert(db: Any, entry: LedgerEntry) -> None:
    async with db.begin_nested():
        db.add(entry)
        await db.flush()


async def _update_amount(db: Any, entry_id: uuid.UUID) -> None:
    async with db.begin_nested():
        await db.execute(
            text("UPDATE ledger_entries SET amount_fen = 1 WHERE id = :id"), {"id": entry_id}
        )


async def test_database_refuses_negative_balances_and_edits(
    db: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    negative = LedgerEntry(
        id=uuid.uuid4(),
        project_id=project.id,
        entry_type=EntryType.DISBURSEMENT,
        amount_fen=-1,
        balance_after_fen=-1,
        reason="x",
    )
    with pytest.raises(IntegrityError):
        await _insert(db, negative)
    wrong_sign = LedgerEntry(
        id=uuid.uuid4(),
        project_id=project.id,
        entry_type=EntryType.DONATION,
        amount_fen=-5,
        balance_after_fen=0,
    )
    with pytest.raises(IntegrityError):  # money in must be positive
        await _insert(db, wrong_sign)
    chair = await load_current_user(db, demo["org_admin"])
    assert chair
    entry = await service.book_adjustment(db, chair, project.id, amount_fen=100, reason="利息")
    with pytest.raises(DBAPIError, match="append-only"):
        await _update_amount(db, entry.id)


async def test_fifty_concurrent_credits_of_one_donation_book_once(runtime: Any, demo: Any) -> None:
    """50 service calls at once, each in its own session and transaction: one entry."""
    project = await make_project(runtime, demo)
    donation = await make_donation(runtime, project, demo["donor"], amount_fen=777)

    async def credit() -> bool:
        async with runtime.transaction() as session:
            return (
                await service.book_credit(
                    session,
                    donation.id,
                    amount_fen=777,
                    payment_intent_id="pi_svc_50",
                    actor=Actor.system(),
                )
                is not None
            )

    results = await asyncio.gather(*(credit() for _ in range(50)))
    assert results.count(True) == 1
    assert [(e.amount_fen, e.balance_after_fen) for e in await ledger_of(runtime, project.id)] == [
        (777, 777)
    ]


async def test_pledges_expire(runtime: Any, demo: Any) -> None:
    project = await make_project(runtime, demo)
    late = await make_donation(runtime, project, demo["donor"], channel=DonationChannel.OFFLINE)
    fresh = await make_donation(runtime, project, demo["donor"], channel=DonationChannel.OFFLINE)
    async with runtime.transaction() as session:
        stored = await session.get(Donation, late.id)
        stored.expires_at = utcnow() - timedelta(minutes=1)
    from backend.donations.tasks import expire_pledges

    assert await expire_pledges({"runtime": runtime}) >= 1
    async with runtime.sessionmaker() as session:
        assert (await session.get(Donation, late.id)).state == DonationState.EXPIRED
        assert (await session.get(Donation, fresh.id)).state == DonationState.PENDING
