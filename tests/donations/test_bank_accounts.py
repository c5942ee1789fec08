"""Donations that can be finished: the organization's bank account (checked by a platform
administrator), the pledge page that shows it, cancelling an unpaid pledge, and one answer to
"can I donate here?" for the button, the form and the booking."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.models import Organization, OrgStatus, OrgType
from backend.accounts.service import load_current_user
from backend.audit.models import AuditEntry
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.donations import service
from backend.donations.models import (
    BankAccountState,
    Donation,
    DonationChannel,
    DonationState,
    OrgBankAccount,
)
from backend.integrations.stripe import OfflinePaymentProvider
from backend.needs.models import NeedCategory
from backend.privacy.uscc import make_fake_uscc
from backend.projects.models import Project, ProjectState
from tests.donations.conftest import ledger_of, make_donation, make_project
from tests.helpers import post_form, sign_in_as

OFFLINE = OfflinePaymentProvider()
CHARITY_NUMBER = "6222020200112233445"  # the demo charity's verified account


async def _fresh_org_project(
    runtime: Any,
    demo: dict[str, Any],
    *,
    account: BankAccountState | None,
    state: ProjectState = ProjectState.FUNDRAISING,
) -> tuple[Organization, Project]:
    """An approved charity of its own (committed), with a fundraising project and, if asked,
    a bank account in the given state: tests that commit never touch the demo's accounts."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    suffix = uuid.uuid4().hex[:10].upper()
    for bad, good in (("I", "1"), ("O", "0"), ("S", "5"), ("V", "7"), ("Z", "2")):
        suffix = suffix.replace(bad, good)
    async with runtime.transaction() as session:
        await session.execute(
            pg_insert(NeedCategory)
            .values(code="housing", name_zh="住房改善", name_en="Housing")
            .on_conflict_do_nothing(index_elements=["code"])
        )
        org = Organization(
            id=uuid.uuid4(),
            name=f"测试慈善会{suffix[:4]}",
            org_type=OrgType.CHARITY,
            uscc=make_fake_uscc("5333010" + suffix),
            status=OrgStatus.APPROVED,
            region_code="330106",
            service_area=["330106"],
        )
        session.add(org)
        await session.flush()
        project = Project(
            id=uuid.uuid4(),
            organization_id=org.id,
            title=f"测试项目 {suffix[:6]}",
            category="housing",
            region_code="330106",
            target_fen=1_000_000,
            state=state,
            created_by=demo["admin"],
        )
        session.add(project)
        if account is not None:
            session.add(
                OrgBankAccount(
                    id=uuid.uuid4(),
                    organization_id=org.id,
                    account_name=org.name,
                    bank_name="中国建设银行杭州分行",
                    account_number="6217001234567890123",
                    state=account,
                    submitted_by=demo["admin"],
                )
            )
    return org, project


async def _audit(db: Any, action: str, object_id: uuid.UUID) -> list[AuditEntry]:
    return list(
        (
            await db.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == action, AuditEntry.object_id == str(object_id)
                )
            )
        ).all()
    )


# --- the bank account's lifecycle ---------------------------------------------------------------


async def test_bank_account_lifecycle(db: Any, runtime: Any, demo: dict[str, Any]) -> None:
    """Submitted → rejected (with a reason) → changed → verified; a change needs a new check,
    and while no account is verified the offline option is not offered."""
    org_id = demo["org:charity"]
    chair = await load_current_user(db, demo["org_admin"])
    staff = await load_current_user(db, demo["org_member"])
    admin = await load_current_user(db, demo["admin"])
    donor = await load_current_user(db, demo["donor"])
    assert chair and staff and admin and donor
    project = await make_project(runtime, demo)  # the charity's, committed
    verified = await service.donation_account(db, org_id)
    assert verified is not None and verified.account_number == CHARITY_NUMBER
    assert (await service.donation_options(db, project, OFFLINE)).possible

    with pytest.raises(Forbidden):  # a member who is not an administrator of the organization
        await service.submit_bank_account(
            db, staff, org_id, account_name="某某", bank_name="某银行", account_number="12345678"
        )
    with pytest.raises(Invalid) as bad:
        await service.submit_bank_account(
            db, chair, org_id, account_name="", bank_name="工行", account_number="12ab"
        )
    assert set(bad.value.fields) == {"account_name", "account_number"}

    # Saving the same details again changes nothing: the verified account stays verified.
    same = await service.submit_bank_account(
        db,
        chair,
        org_id,
        account_name=verified.account_name,
        bank_name=verified.bank_name,
        account_number="6222 0202 0011 2233 445",
    )
    assert same.state == BankAccountState.VERIFIED
    version = same.version

    # A changed number needs a new check: donors see no account until then.
    changed = await service.submit_bank_account(
        db,
        chair,
        org_id,
        account_name=verified.account_name,
        bank_name=verified.bank_name,
        account_number="6222-0202-0099-8877-665",
    )
    assert changed.state == BankAccountState.SUBMITTED
    assert changed.account_number == "6222020200998877665"
    assert changed.version == version + 1
    assert await service.donation_account(db, org_id) is None
    options = await service.donation_options(db, project, OFFLINE)
    assert not options.possible
    assert options.blocked == service.NO_WAY_TO_PAY
    with pytest.raises(Conflict):  # the booking refuses a pledge too, not only the page
        await service.start_donation(
            db,
            donor,
            project_id=project.id,
            amount_fen=1_000,
            anonymous=False,
            message="",
            channel=DonationChannel.OFFLINE,
            submission=str(uuid.uuid4()),
            provider=OFFLINE,
            settings=runtime.settings,
        )

    # Only a platform administrator checks, the version they saw, a rejection with a reason.
    with pytest.raises(Forbidden):
        await service.review_bank_account(
            db, chair, changed.id, version=changed.version, approve=True
        )
    with pytest.raises(Conflict):  # the page showed an older version of the account
        await service.review_bank_account(db, admin, changed.id, version=version, approve=True)
    with pytest.raises(Invalid):
        await service.review_bank_account(
            db, admin, changed.id, version=changed.version, approve=False, note=" "
        )
    rejected = await service.review_bank_account(
        db,
        admin,
        changed.id,
        version=changed.version,
        approve=False,
        note="户名与登记证书不一致",
    )
    assert rejected.state == BankAccountState.REJECTED
    assert rejected.review_note == "户名与登记证书不一致"
    with pytest.raises(Conflict):  # decided already
        await service.review_bank_account(
            db, admin, changed.id, version=rejected.version, approve=True
        )

    # The organization corrects it (even with the same details): a new check.
    again = await service.submit_bank_account(
        db,
        chair,
        org_id,
        account_name="杭州市西湖区慈善总会",
        bank_name="中国工商银行杭州西湖支行",
        account_number="6222020200998877665",
    )
    assert again.state == BankAccountState.SUBMITTED
    assert again.review_note == ""
    checked = await service.review_bank_account(
        db, admin, again.id, version=again.version, approve=True
    )
    assert checked.state == BankAccountState.VERIFIED
    assert checked.reviewed_by == admin.id
    assert (await service.donation_account(db, org_id)) is checked
    assert (await service.donation_options(db, project, OFFLINE)).possible

    # Audited: who submitted, changed, rejected (with the reason) and verified; never the number.
    for action in (
        "bank_account.changed",
        "bank_account.rejected",
        "bank_account.verified",
    ):
        rows = await _audit(db, action, org_id)
        assert rows, action
        for row in rows:
            assert "6222020200998877665" not in str(row.detail)
    reasons = [r.detail.get("reason") for r in await _audit(db, "bank_account.rejected", org_id)]
    assert "户名与登记证书不一致" in reasons


def test_account_number_helpers() -> None:
    assert service.normalize_account_number(" 6222 0202-1 ") == "622202021"
    assert service.mask_account_number("6222020200112233445") == "•••• 3445"
    assert service.group_account_number("6222020200112233445") == "6222 0202 0011 2233 445"


# --- pages: the pledge page, the donate form, the organization and the admin -----------------


async def test_pledge_page_shows_the_verified_account_only(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    _, project = await _fresh_org_project(runtime, demo, account=BankAccountState.VERIFIED)
    pledge = await make_donation(
        runtime, project, demo["donor"], amount_fen=12_345, channel=DonationChannel.OFFLINE
    )
    await sign_in_as(client, runtime, demo["donor"])
    page = await client.get(f"/donations/{pledge.id}")
    assert page.status_code == 200
    assert "6217 0012 3456 7890 123" in page.text  # grouped to read, the digits to copy
    assert 'data-value="6217001234567890123"' in page.text
    assert "TX-" + pledge.id.hex[:8].upper() in page.text
    assert 'data-copy="#reference"' in page.text
    assert 'data-copy="#account-number"' in page.text
    assert "/static/donations.js" in page.text
    assert f'action="/donations/{pledge.id}/cancel-pledge"' in page.text

    # The donate form offers the transfer, naming the bank.
    form = await client.get(f"/projects/{project.id}/donate")
    assert form.status_code == 200
    assert 'value="offline"' in form.text
    assert "中国建设银行杭州分行" in form.text

    # The account changes: back to "submitted". The number leaves the pledge page, and with no
    # online payment there is no way to pay: the form says why, with 409, and offers nothing.
    async with runtime.transaction() as session:
        account = (
            await session.scalars(
                select(OrgBankAccount).where(
                    OrgBankAccount.organization_id == project.organization_id
                )
            )
        ).one()
        account.state = BankAccountState.SUBMITTED
    page = await client.get(f"/donations/{pledge.id}")
    assert "6217" not in page.text
    assert 'id="transfer"' in page.text  # the section stays, saying not to transfer yet
    form = await client.get(f"/projects/{project.id}/donate")
    assert form.status_code == 409
    assert 'value="offline"' not in form.text
    assert "银行账户尚未通过平台核验" in form.text
    project_page = await client.get(f"/projects/{project.id}")
    assert 'id="donate"' not in project_page.text
    assert 'id="donate-blocked"' in project_page.text
    posted = await post_form(
        client,
        f"/projects/{project.id}/donate",
        {"amount": "10", "channel": "offline", "submission": str(uuid.uuid4())},
    )
    assert posted.status_code == 409


async def test_offline_option_hidden_when_online_payment_exists(
    db: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    """With online payment but no verified account, donating is possible, without transfers."""

    class Online(OfflinePaymentProvider):
        @property
        def online(self) -> bool:
            return True

    _, project = await _fresh_org_project(runtime, demo, account=None)
    options = await service.donation_options(db, project, Online())
    assert options.possible and options.online and options.account is None
    assert (await service.donation_options(db, project, OFFLINE)).blocked == service.NO_WAY_TO_PAY


async def test_bank_account_pages(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    org, _ = await _fresh_org_project(runtime, demo, account=None)
    # The organization's page (the platform admin acts as the organization's administrator
    # here, as everywhere require_member lets admins in): record an account.
    await sign_in_as(client, runtime, demo["admin"])
    empty = await client.get(f"/org/{org.id}/bank-account")
    assert empty.status_code == 200
    assert 'name="account_number"' in empty.text
    bad = await post_form(
        client,
        f"/org/{org.id}/bank-account",
        {"account_name": "测试", "bank_name": "工行", "account_number": "12"},
    )
    assert bad.status_code == 422
    assert 'value="测试"' in bad.text  # the input is kept
    saved = await post_form(
        client,
        f"/org/{org.id}/bank-account",
        {
            "account_name": org.name,
            "bank_name": "中国银行",
            "account_number": "6216 6001 2345 6789",
        },
    )
    assert saved.status_code == 303
    shown = await client.get(f"/org/{org.id}/bank-account?saved=1")
    assert "•••• 6789" in shown.text
    assert "6216600123456789" not in shown.text  # masked outside the pledge page
    assert 'id="bank-state"' in shown.text

    # The platform admin's check, linked from the organization review.
    orgs = await client.get("/admin/organizations")
    assert 'href="/admin/organizations/bank-accounts"' in orgs.text
    queue = await client.get("/admin/organizations/bank-accounts")
    assert queue.status_code == 200
    assert org.name in queue.text
    assert "6216 6001 2345 6789" in queue.text  # the checker compares the whole number
    async with runtime.sessionmaker() as session:
        account = (
            await session.scalars(
                select(OrgBankAccount).where(OrgBankAccount.organization_id == org.id)
            )
        ).one()
    url = f"/admin/organizations/bank-accounts/{account.id}/review"
    no_reason = await post_form(client, url, {"decision": "reject", "version": "1", "note": ""})
    assert no_reason.status_code == 422
    stale = await post_form(client, url, {"decision": "verify", "version": "0"})
    assert stale.status_code == 409
    ok = await post_form(client, url, {"decision": "verify", "version": str(account.version)})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/admin/organizations/bank-accounts?done=verified"
    async with runtime.sessionmaker() as session:
        stored = await session.get(OrgBankAccount, account.id)
        assert stored is not None and stored.state == BankAccountState.VERIFIED


# --- cancelling an unpaid pledge --------------------------------------------------------------


async def test_donor_cancels_own_unpaid_pledge_only(
    db: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    project = await make_project(runtime, demo)
    donor = await load_current_user(db, demo["donor"])
    other = await load_current_user(db, demo["volunteer"])
    member = await load_current_user(db, demo["org_member"])
    assert donor and other and member
    # Every row is made first: the service locks the project row in this open transaction, and a
    # committed insert of a donation (its foreign key) would wait for that lock.
    pledge = await make_donation(runtime, project, demo["donor"], channel=DonationChannel.OFFLINE)
    online = await make_donation(runtime, project, demo["donor"])
    paid = await make_donation(runtime, project, demo["donor"], channel=DonationChannel.OFFLINE)
    with pytest.raises(NotFound):  # not theirs
        await service.cancel_pledge(db, other, pledge.id)
    with pytest.raises(NotFound):  # the organization confirms, it does not cancel
        await service.cancel_pledge(db, member, pledge.id)
    with pytest.raises(Conflict):  # a card payment is not a pledge
        await service.cancel_pledge(db, donor, online.id)
    cancelled = await service.cancel_pledge(db, donor, pledge.id)
    assert cancelled.state == DonationState.CANCELLED
    assert await _audit(db, "donation.cancelled", pledge.id)
    with pytest.raises(Conflict):  # twice
        await service.cancel_pledge(db, donor, pledge.id)
    with pytest.raises(Conflict):  # and the organization can no longer confirm it
        await service.confirm_pledge(db, member, pledge.id, reference="ICBC-1")

    await service.confirm_pledge(db, member, paid.id, reference="ICBC-2")
    with pytest.raises(Conflict):  # paid: too late to cancel
        await service.cancel_pledge(db, donor, paid.id)


async def test_cancel_and_confirm_race_one_wins(runtime: Any, demo: dict[str, Any]) -> None:
    """A cancellation and a confirmation at the same moment, each in its own transaction:
    exactly one wins, the other gets 409 (Conflict), and the ledger agrees with the state."""
    for _ in range(5):
        project = await make_project(runtime, demo)
        pledge = await make_donation(
            runtime, project, demo["donor"], amount_fen=4_321, channel=DonationChannel.OFFLINE
        )

        async def cancel(donation_id: uuid.UUID = pledge.id) -> str:
            async with runtime.transaction() as session:
                user = await load_current_user(session, demo["donor"])
                assert user is not None
                await service.cancel_pledge(session, user, donation_id)
            return "cancelled"

        async def confirm(donation_id: uuid.UUID = pledge.id) -> str:
            async with runtime.transaction() as session:
                user = await load_current_user(session, demo["org_member"])
                assert user is not None
                await service.confirm_pledge(session, user, donation_id, reference="RACE")
            return "confirmed"

        results = await asyncio.gather(cancel(), confirm(), return_exceptions=True)
        won = [r for r in results if isinstance(r, str)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], Conflict), lost
        async with runtime.sessionmaker() as session:
            stored = await session.get(Donation, pledge.id)
            assert stored is not None
            entries = await ledger_of(runtime, project.id)
            if won == ["cancelled"]:
                assert stored.state == DonationState.CANCELLED and entries == []
            else:
                assert stored.state == DonationState.PAID
                assert [e.amount_fen for e in entries] == [4_321]


async def test_cancel_pledge_page(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    project = await make_project(runtime, demo)
    pledge = await make_donation(runtime, project, demo["donor"], channel=DonationChannel.OFFLINE)
    await sign_in_as(client, runtime, demo["donor"])
    done = await post_form(client, f"/donations/{pledge.id}/cancel-pledge", {})
    assert done.status_code == 303
    assert done.headers["location"] == f"/donations/{pledge.id}?cancelled=1"
    page = await client.get(done.headers["location"])
    assert "认捐已取消" in page.text
    assert "cancel-pledge" not in page.text  # nothing left to cancel
    assert "已取消" in page.text
    again = await post_form(client, f"/donations/{pledge.id}/cancel-pledge", {})
    assert again.status_code == 409  # the page again, with the reason
    assert "该认捐已被确认或已关闭" in again.text


# --- the donate button: shown only when a donation is possible, the reason otherwise -----------


@pytest.mark.parametrize(
    ("state", "raised", "overdue", "reason"),
    [
        (ProjectState.FUNDRAISING, 0, False, None),
        (ProjectState.FUNDRAISING, 1_000_000, False, "目标"),
        (ProjectState.FUNDRAISING, 0, True, "进展报告"),
        (ProjectState.FUNDED, 0, False, "已筹满"),
        (ProjectState.EXECUTING, 0, False, "正在实施"),
        (ProjectState.COMPLETED, 0, False, "已完成"),
        (ProjectState.CLOSED, 0, False, "已关闭"),
    ],
)
async def test_donate_button_states(
    client: Any,
    runtime: Any,
    demo: dict[str, Any],
    state: ProjectState,
    raised: int,
    overdue: bool,
    reason: str | None,
) -> None:
    project = await make_project(
        runtime, demo, state=state, raised_fen=raised, overdue=overdue, target_fen=1_000_000
    )
    page = await client.get(f"/projects/{project.id}")
    assert page.status_code == 200
    assert f'href="/projects/{project.id}/ledger"' in page.text  # the ledger, always
    form = await client.get(f"/projects/{project.id}/donate")
    ledger = await client.get(f"/projects/{project.id}/ledger")
    api = await client.get(f"/api/v1/projects/{project.id}/ledger")
    assert api.json()["accepts_donations"] is (reason is None)
    if reason is None:
        assert 'id="donate"' in page.text and 'id="donate-blocked"' not in page.text
        assert form.status_code == 200
        assert f'href="/projects/{project.id}/donate"' in ledger.text
    else:
        assert 'id="donate"' not in page.text
        assert 'id="donate-blocked"' in page.text and reason in page.text
        assert form.status_code == 409 and reason in form.text
        assert f'href="/projects/{project.id}/donate"' not in ledger.text
        assert reason in ledger.text


async def test_manage_page_warns_only_without_a_checked_account(
    client: Any, runtime: Any, demo: dict[str, Any]
) -> None:
    project = await make_project(runtime, demo)  # the charity's: its account is verified
    await sign_in_as(client, runtime, demo["org_member"])
    page = await client.get(f"/donations/manage/{project.id}")
    assert page.status_code == 200
    assert 'id="bank-missing"' not in page.text
