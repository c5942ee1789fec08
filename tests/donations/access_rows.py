"""Role × route rows of the donations pages, the public ledger and the Stripe webhook."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.core.db import utcnow
from backend.donations.models import (
    BankAccountState,
    Disbursement,
    DisbursementState,
    Donation,
    DonationChannel,
    DonationState,
    OrgBankAccount,
)
from tests.access import ACTORS, Ctx, Row, everyone, only, signed_in


def _warm(ctx: Ctx) -> uuid.UUID:
    return ctx.demo["project:warm_nest"]


def _not_found_except(allowed: dict[str, int], *, anonymous: int = 303) -> dict[str, int]:
    expect = dict.fromkeys(ACTORS, 404)
    expect["anonymous"] = anonymous
    expect.update(allowed)
    return expect


async def _pledge(ctx: Ctx) -> Donation:
    async with ctx.runtime.transaction() as session:
        donation = Donation(
            id=uuid.uuid4(),
            project_id=_warm(ctx),
            donor_id=ctx.demo["donor"],
            amount_fen=1_000,
            channel=DonationChannel.OFFLINE,
            state=DonationState.PENDING,
            display_name="周捐赠",
            expires_at=utcnow() + timedelta(days=14),
        )
        session.add(donation)
    return donation


async def _paid_donation(ctx: Ctx) -> uuid.UUID:
    async with ctx.runtime.transaction() as session:
        found = (
            await session.scalars(
                select(Donation.id).where(
                    Donation.donor_id == ctx.demo["donor"], Donation.state == DonationState.PAID
                )
            )
        ).first()
    assert found is not None
    return found


async def _project_url(ctx: Ctx, suffix: str) -> str:
    return f"/projects/{_warm(ctx)}{suffix}"


async def _donate_blocked(ctx: Ctx) -> str:
    return f"/projects/{ctx.demo['project:winter_meals']}/donate"


async def _pledge_url(ctx: Ctx, suffix: str = "") -> str:
    return f"/donations/{(await _pledge(ctx)).id}{suffix}"


async def _approved_receipt(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as session:
        found = (
            await session.scalars(
                select(Disbursement.id).where(
                    Disbursement.project_id == _warm(ctx),
                    Disbursement.state == DisbursementState.APPROVED,
                )
            )
        ).first()
    return f"/donations/disbursements/{found}/receipt"


async def _requested_disbursement(ctx: Ctx) -> str:
    async with ctx.runtime.transaction() as session:
        disbursement = Disbursement(
            id=uuid.uuid4(),
            project_id=_warm(ctx),
            amount_fen=1,
            purpose="矩阵测试",
            receipt_path="receipts/matrix.png",
            state=DisbursementState.REQUESTED,
            requested_by=ctx.demo["org_admin"],
        )
        session.add(disbursement)
    return f"/donations/disbursements/{disbursement.id}/decide"


async def _fresh_submission(_: Ctx) -> dict[str, Any]:
    return {"amount": "10", "channel": "offline", "submission": str(uuid.uuid4())}


async def _receipt_pdf(ctx: Ctx) -> str:
    return f"/donations/{await _paid_donation(ctx)}/receipt.pdf"


def _on_warm(suffix: str) -> Any:
    async def url(ctx: Ctx) -> str:
        return await _project_url(ctx, suffix)

    return url


def _on_pledge(suffix: str) -> Any:
    async def url(ctx: Ctx) -> str:
        return await _pledge_url(ctx, suffix)

    return url


def _manage(suffix: str = "") -> Any:
    async def url(ctx: Ctx) -> str:
        return f"/donations/manage/{_warm(ctx)}{suffix}"

    return url


async def _api_ledger_url(ctx: Ctx) -> str:
    return f"/api/v1/projects/{_warm(ctx)}/ledger"


async def _submitted_account(ctx: Ctx) -> str:
    """The volunteer team's account, (back) in ``submitted`` with version 1, to be reviewed."""
    org_id = ctx.demo["org:volunteers"]
    async with ctx.runtime.transaction() as session:
        account = (
            await session.scalars(
                select(OrgBankAccount).where(OrgBankAccount.organization_id == org_id)
            )
        ).first()
        if account is None:
            account = OrgBankAccount(
                id=uuid.uuid4(),
                organization_id=org_id,
                account_name="西湖区志愿者协会",
                bank_name="中国银行杭州西湖支行",
                account_number="6216600100001234567",
                submitted_by=ctx.demo["admin"],
            )
            session.add(account)
        account.state = BankAccountState.SUBMITTED
        account.version = 1
    return f"/admin/organizations/bank-accounts/{account.id}/review"


def _org_a(status: int, *, member_a: int | None = None) -> dict[str, int]:
    """Org A's pages: its member and the platform admin; everybody else 404."""
    return _not_found_except(
        {"member_a": status if member_a is None else member_a, "admin": status}
    )


async def _bank_url(ctx: Ctx) -> str:
    return f"/org/{ctx.demo['org:charity']}/bank-account"


DONOR_AND_ORG = {"donor": 200, "member_a": 200}

ROWS = [
    Row("GET", "/projects/{project_id:uuid}/donate", everyone(200), url=_on_warm("/donate")),
    Row(
        "POST",
        "/projects/{project_id:uuid}/donate",
        signed_in(409),
        url=_donate_blocked,
        data=_fresh_submission,
        note="update overdue: takes no donations",
    ),
    Row("GET", "/projects/{project_id:uuid}/ledger", everyone(200), url=_on_warm("/ledger")),
    Row(
        "GET", "/projects/{project_id:uuid}/ledger.csv", everyone(200), url=_on_warm("/ledger.csv")
    ),
    Row(
        "GET",
        "/api/v1/projects/{project_id:uuid}/ledger",
        everyone(200),
        json=True,
        url=_api_ledger_url,
    ),
    Row(
        "GET",
        "/donations/disbursements/{disbursement_id:uuid}/receipt",
        everyone(200),
        url=_approved_receipt,
    ),
    Row("GET", "/me/donations", signed_in(200)),
    Row(
        "GET", "/donations/{donation_id:uuid}", _not_found_except(DONOR_AND_ORG), url=_on_pledge("")
    ),
    Row(
        "GET",
        "/donations/{donation_id:uuid}/success",
        _not_found_except(DONOR_AND_ORG),
        url=_on_pledge("/success"),
    ),
    Row(
        "GET",
        "/donations/{donation_id:uuid}/cancel",
        _not_found_except(DONOR_AND_ORG),
        url=_on_pledge("/cancel"),
    ),
    Row(
        "GET",
        "/donations/{donation_id:uuid}/receipt.pdf",
        _not_found_except({"donor": 200}),
        url=_receipt_pdf,
        note="the donor's own paid donation",
    ),
    Row(
        "POST",
        "/donations/{donation_id:uuid}/confirm",
        _not_found_except({"member_a": 303}),
        url=_on_pledge("/confirm"),
        data={"reference": "BANK-123"},
    ),
    Row("GET", "/donations/manage", signed_in(200)),
    Row(
        "GET",
        "/donations/manage/{project_id:uuid}",
        _not_found_except({"member_a": 200}),
        url=_manage(),
    ),
    Row(
        "POST",
        "/donations/manage/{project_id:uuid}/disbursements",
        _not_found_except({"member_a": 422}),
        url=_manage("/disbursements"),
        data={"amount": "1", "purpose": "x"},
        note="no receipt attached",
    ),
    Row(
        "POST",
        "/donations/disbursements/{disbursement_id:uuid}/decide",
        _not_found_except({"member_a": 303}),
        url=_requested_disbursement,
        data={"decision": "approve"},
        note="second member approves",
    ),
    Row(
        "POST",
        "/donations/manage/{project_id:uuid}/adjustments",
        _not_found_except({"member_a": 403}),
        url=_manage("/adjustments"),
        data={"amount": "1", "reason": "x"},
        note="members are not org admins",
    ),
    Row("POST", "/webhooks/stripe", everyone(404), note="no webhook secret configured"),
    Row(
        "POST",
        "/donations/{donation_id:uuid}/cancel-pledge",
        _not_found_except({"donor": 303}),
        url=_on_pledge("/cancel-pledge"),
        note="only the donor's own unpaid pledge",
    ),
    Row("GET", "/org/{org_id:uuid}/bank-account", _org_a(200), url=_bank_url),
    Row(
        "POST",
        "/org/{org_id:uuid}/bank-account",
        _org_a(422, member_a=403),
        url=_bank_url,
        data={"account_name": "", "bank_name": "", "account_number": ""},
        note="members are not org admins; empty form",
    ),
    Row("GET", "/admin/organizations/bank-accounts", only(("admin",), 200)),
    Row(
        "POST",
        "/admin/organizations/bank-accounts/{account_id:uuid}/review",
        only(("admin",), 303),
        url=_submitted_account,
        data={"decision": "verify", "version": "1"},
    ),
    Row(
        "GET",
        "/projects/{project_id:uuid}/needs/candidates",
        _org_a(200),
        url=_on_warm("/needs/candidates?q=%E6%88%BF"),
        note="the need picker: members of the project's organization",
    ),
]
