"""Demo donations: a few fundraising projects with donations, a pledge and a disbursement."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import load_current_user
from backend.audit.service import Actor
from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.storage import LocalStorage
from backend.donations import service
from backend.donations.models import (
    BankAccountState,
    Donation,
    DonationChannel,
    DonationState,
    OrgBankAccount,
)
from backend.donations.storage import ReceiptStorage
from backend.projects.models import Project, ProjectState

DEMO_PROJECTS = [
    # key, organization key, title, category, region, target (fen), overdue
    (
        "warm_nest",
        "charity",
        "暖巢更新：西湖区困难家庭住房改造",
        "housing_repair",
        "330106",
        5_000_000,
        False,
    ),
    ("school_kits", "union", "三门县困难职工子女助学包", "education", "331022", 1_200_000, False),
    ("winter_meals", "charity", "冬季送温暖：独居老人热餐", "meals", "330106", 800_000, True),
]


# Demo bank accounts (invented numbers), already checked by the platform administrator, so
# that donors can pledge transfers to the demo projects.
DEMO_ACCOUNTS = [
    ("charity", "杭州市西湖区慈善总会", "中国工商银行杭州西湖支行", "6222020200112233445"),
    ("union", "三门县总工会", "中国农业银行三门县支行", "6228480300998877665"),
]


async def seed_donations(session: AsyncSession, ids: dict[str, Any]) -> None:
    for org_key, name, bank, number in DEMO_ACCOUNTS:
        org_id = ids[f"org:{org_key}"]
        found = (
            await session.scalars(
                select(OrgBankAccount).where(OrgBankAccount.organization_id == org_id)
            )
        ).first()
        if found is None:
            session.add(
                OrgBankAccount(
                    id=uuid.uuid4(),
                    organization_id=org_id,
                    account_name=name,
                    bank_name=bank,
                    account_number=number,
                    state=BankAccountState.VERIFIED,
                    submitted_by=ids["org_admin"] if org_key == "charity" else ids["admin"],
                    reviewed_by=ids["admin"],
                    reviewed_at=utcnow(),
                )
            )
    await session.flush()
    for key, org_key, title, category, region, target, overdue in DEMO_PROJECTS:
        existing = (
            await session.scalars(
                select(Project).where(
                    Project.title == title, Project.organization_id == ids[f"org:{org_key}"]
                )
            )
        ).first()
        if existing is None:
            existing = Project(
                id=uuid.uuid4(),
                organization_id=ids[f"org:{org_key}"],
                title=title,
                goal="",
                category=category,
                region_code=region,
                target_fen=target,
                state=ProjectState.FUNDRAISING,
                update_overdue=overdue,
                last_update_at=utcnow() - timedelta(days=10),
                created_by=ids["admin"],
            )
            session.add(existing)
            await session.flush()
        ids[f"project:{key}"] = existing.id

    donor = ids["donor"]
    warm = ids["project:warm_nest"]
    gifts = [
        (warm, 20_000, False, "周捐赠"),
        (warm, 50_000, True, ""),
        (warm, 8_800, False, "周捐赠"),
        (ids["project:school_kits"], 30_000, False, "周捐赠"),
        (ids["project:winter_meals"], 12_000, True, ""),
    ]
    for project_id, amount, anonymous, name in gifts:
        donation = Donation(
            id=uuid.uuid4(),
            project_id=project_id,
            donor_id=donor,
            amount_fen=amount,
            channel=DonationChannel.OFFLINE,
            state=DonationState.PENDING,
            anonymous=anonymous,
            display_name=name,
            expires_at=utcnow() + timedelta(days=14),
        )
        session.add(donation)
        await session.flush()
        await service.book_credit(
            session,
            donation.id,
            amount_fen=amount,
            payment_intent_id=None,
            actor=Actor("user", ids["org_admin"]),
            reference=f"DEMO-{donation.id.hex[:6].upper()}",
        )
    # A pledge still waiting for the charity to confirm the transfer.
    session.add(
        Donation(
            id=uuid.uuid4(),
            project_id=warm,
            donor_id=donor,
            amount_fen=10_000,
            channel=DonationChannel.OFFLINE,
            state=DonationState.PENDING,
            display_name="周捐赠",
            message="祝福大家早日住进温暖的新家",
            expires_at=utcnow() + timedelta(days=14),
        )
    )
    # An expense: requested by the charity's staff member, approved by its administrator.
    staff = await load_current_user(session, ids["org_member"])
    chair = await load_current_user(session, ids["org_admin"])
    assert staff is not None
    assert chair is not None
    storage = ReceiptStorage(LocalStorage(get_settings().var_dir / "uploads"))
    request = await service.request_disbursement(
        session,
        staff,
        warm,
        amount_fen=15_000,
        purpose="首户屋顶防水材料采购",
        receipt=_demo_receipt_png(),
        content_type="image/png",
        storage=storage,
    )
    await service.decide_disbursement(session, chair, request.id, approve=True)
    await session.flush()


def _demo_receipt_png() -> bytes:
    """A small picture standing in for a scanned invoice (demo data only)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 470, 290), outline="black", width=3)
    draw.text((30, 40), "DEMO RECEIPT / INVOICE", fill="black")
    draw.text((30, 90), "Waterproofing materials", fill="black")
    draw.text((30, 130), "Amount: CNY 150.00", fill="black")
    draw.text((30, 170), "Tongxin demo data", fill="gray")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
