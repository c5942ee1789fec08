"""The CSR ranking: only organizations with verified records, money delivered counted (a
company's cash help and project expenses), hours to the minute, and ties explained."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from backend.accounts.models import Organization, OrgStatus, OrgType
from backend.core.db import utcnow
from backend.demo.organizations import make_household, make_published_need
from backend.donations.models import EntryType, LedgerEntry
from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment
from backend.organizations import figures, service
from backend.organizations import repository as repo
from backend.privacy.uscc import make_fake_uscc
from backend.projects.models import Project, ProjectState
from backend.resources.models import Claim
from backend.volunteering.models import HoursLog, HoursState

TYPE = OrgType.SOCIAL_WORK_AGENCY  # the demo has none: the ranking of this type is ours alone


@dataclass
class Scenario:
    zero: Organization  # approved, no verified record at all
    hours: Organization  # 5.5 verified hours (pending ones do not count), a delivery of goods
    cash: Organization  # ¥5,500 a household confirmed receiving (and a disputed delivery)
    busy: Organization  # a household helped, a need fulfilled, ¥2,000 of project expenses


def _uscc() -> str:
    suffix = uuid.uuid4().hex[:10].upper()
    for bad, good in (("I", "1"), ("O", "0"), ("S", "5"), ("V", "7"), ("Z", "2")):
        suffix = suffix.replace(bad, good)
    return make_fake_uscc("5333010" + suffix)


async def _delivery(
    session: Any,
    demo: dict[str, Any],
    org: Organization,
    *,
    cash_fen: int | None,
    state: DeliveryState = DeliveryState.CONFIRMED,
) -> None:
    """A delivery written directly, then counted as its ``delivery.*`` event would be."""
    household = await make_household(session, registered_by=demo["caseworker"])
    need = await make_published_need(
        session,
        household=household,
        created_by=demo["caseworker"],
        title="排行测试需求",
        category="cash" if cash_fen else "goods",
        quantity=None if cash_fen else 2,
        unit="" if cash_fen else "床",
        amount_fen=cash_fen,
    )
    claim = Claim(
        id=uuid.uuid4(),
        need_id=need.id,
        organization_id=org.id,
        quantity=cash_fen or 2,
        claimed_by=demo["admin"],
    )
    session.add(claim)
    await session.flush()
    fulfilment = Fulfilment(
        id=uuid.uuid4(),
        need_id=need.id,
        organization_id=org.id,
        claim_id=claim.id,
        promised=cash_fen or 2,
    )
    session.add(fulfilment)
    await session.flush()
    delivery = Delivery(
        id=uuid.uuid4(),
        fulfilment_id=fulfilment.id,
        delivered_on=date.today(),
        description="排行测试",
        quantity=cash_fen or 2,
        state=state,
        recorded_by=demo["admin"],
    )
    session.add(delivery)
    await session.flush()
    await figures.refresh_delivery(session, delivery.id)


async def scenario(session: Any, demo: dict[str, Any]) -> Scenario:
    tag = uuid.uuid4().hex[:6]

    def org(name: str) -> Organization:
        made = Organization(
            id=uuid.uuid4(),
            name=f"{name} {tag}",
            org_type=TYPE,
            uscc=_uscc(),
            status=OrgStatus.APPROVED,
            region_code="330106",
            service_area=["330106"],
        )
        session.add(made)
        return made

    made = Scenario(org("D zero"), org("A hours"), org("B cash"), org("C busy"))
    await session.flush()
    logs = [
        HoursLog(
            volunteer_id=demo["volunteer"],
            organization_id=made.hours.id,
            served_on=utcnow(),
            minutes=330,
            state=HoursState.APPROVED,
        ),
        HoursLog(
            volunteer_id=demo["volunteer"],
            organization_id=made.hours.id,
            served_on=utcnow(),
            minutes=600,
            state=HoursState.PENDING,
        ),
    ]
    session.add_all(logs)
    await session.flush()
    for log in logs:  # as their hours.* events would
        await figures.refresh_hours(session, log.id)
    await _delivery(session, demo, made.hours, cash_fen=None)
    await _delivery(session, demo, made.cash, cash_fen=550_000)
    await _delivery(session, demo, made.cash, cash_fen=990_000, state=DeliveryState.DISPUTED)
    await _delivery(session, demo, made.busy, cash_fen=None)
    project = Project(
        id=uuid.uuid4(),
        organization_id=made.busy.id,
        title=f"排行测试项目 {tag}",
        category="goods",
        region_code="330106",
        target_fen=1_000_000,
        raised_fen=300_000,
        state=ProjectState.EXECUTING,
        created_by=demo["admin"],
    )
    session.add(project)
    await session.flush()
    for entry_type, amount, balance in (
        (EntryType.DONATION, 300_000, 300_000),
        (EntryType.DISBURSEMENT, -200_000, 100_000),
    ):
        session.add(
            LedgerEntry(
                id=uuid.uuid4(),
                project_id=project.id,
                entry_type=entry_type,
                amount_fen=amount,
                balance_after_fen=balance,
                reason="排行测试" if entry_type == EntryType.DISBURSEMENT else "",
                created_at=utcnow(),
            )
        )
    await session.flush()
    await figures.refresh_project(session, project.id)  # as disbursement.approved would
    return made


async def test_ranking_rules(db: Any, demo: dict[str, Any]) -> None:
    made = await scenario(db, demo)
    rows = await service.csr_ranking(db, org_type=TYPE.value)
    by_id = {r.organization.id: r for r in rows}

    assert made.zero.id not in by_id  # no verified record: not listed, let alone first
    hours, cash, busy = by_id[made.hours.id], by_id[made.cash.id], by_id[made.busy.id]

    # Fractional hours are kept: 330 minutes are 5.5 hours, worth 5.50 points (+ 10 + 5).
    assert hours.figures.volunteer_minutes == 330
    assert hours.figures.volunteer_hours == Decimal("5.50")
    assert hours.figures.volunteer_hours_text == "5.5"
    assert hours.figures.score == Decimal("20.5")

    # A company's money counts: ¥5,500 the household confirmed (not the disputed ¥9,900):
    # 10 (household) + 5 (need) + 5.5 (¥5,500).
    assert cash.figures.funds_delivered_fen == 550_000
    assert cash.figures.score == Decimal("20.5")

    # 10 + 5 + 2 (¥2,000 of approved project expenses) = 17.
    assert (busy.figures.households_helped, busy.figures.needs_fulfilled) == (1, 1)
    assert busy.figures.funds_delivered_fen == 200_000
    assert busy.figures.score == Decimal("17")

    # Ties share a rank, listed by name; the next rank is skipped.
    order = [r.organization.id for r in rows]
    assert order.index(made.hours.id) < order.index(made.cash.id) < order.index(made.busy.id)
    assert hours.rank == cash.rank and hours.tied and cash.tied
    assert not busy.tied
    assert busy.rank == hours.rank + 2
    for position, (earlier, later) in enumerate(itertools.pairwise(rows), start=2):
        assert earlier.figures.score_hundredths >= later.figures.score_hundredths
        if later.figures.score_hundredths == earlier.figures.score_hundredths:
            assert later.rank == earlier.rank
        else:
            assert later.rank == position  # competition ranking: 1, 2, 2, 4

    # The organization page's figures are the same numbers.
    figs = await repo.figures(db, [made.hours.id, made.cash.id, made.zero.id])
    assert figs[made.hours.id] == hours.figures
    assert figs[made.cash.id] == cash.figures
    assert not figs[made.zero.id].verified


async def test_ranking_page_explains_ties(client: Any, runtime: Any, demo: dict[str, Any]) -> None:
    async with runtime.transaction() as session:
        made = await scenario(session, demo)
    page = await client.get(f"/organizations/ranking?type={TYPE.value}")
    assert page.status_code == 200
    text = page.text
    assert made.hours.name in text and made.cash.name in text and made.busy.name in text
    assert made.zero.name not in text
    assert 'id="ties"' in text  # the explanation under the table
    assert re.search(r"<td[^>]*>5.5</td>", text)  # hours, not truncated
    assert "¥5,500.00" in text
    assert "20.50" in text and "17.00" in text
    api = await client.get(f"/api/v1/csr-ranking?org_type={TYPE.value}")
    rows = {r["organization"]["id"]: r for r in api.json()}
    assert str(made.zero.id) not in rows
    hours = rows[str(made.hours.id)]
    assert hours["tied"] is True
    assert hours["organization"]["figures"]["volunteer_hours"] == 5.5
    assert hours["rank"] == rows[str(made.cash.id)]["rank"]
