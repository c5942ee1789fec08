"""Demo fulfilment: the demo needs already past delivery (delivered / confirmed / closed) get the
claim, fulfilment and delivery behind them, confirmed needs a household rating, each household
a visit schedule (monthly for 特困) and the 幸福清单 lines. Rows are written directly, like the
households seeder (no audit trail: nothing really happened)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization
from backend.fulfilment.models import (
    ConfirmationMethod,
    Delivery,
    DeliveryState,
    Feedback,
    Fulfilment,
    FulfilmentState,
    VisitSchedule,
)
from backend.fulfilment.service import default_interval, today_local
from backend.households.models import AssistanceRecord, Household
from backend.needs.models import Need, NeedState
from backend.resources.models import Claim, ClaimState

MEMBERS = {"330106": "org_member", "331022": "union_admin"}
CASEWORKERS = {"330106": "caseworker", "331022": "caseworker_sanmen"}
COMMENTS = ["送到家里，很及时，谢谢！", "志愿者很耐心。", "东西很实用。", ""]


async def seed_fulfilment(session: AsyncSession, ids: dict[str, Any]) -> None:
    today = today_local()
    needs = (
        await session.scalars(
            select(Need)
            .where(
                Need.state.in_([NeedState.DELIVERED, NeedState.CONFIRMED, NeedState.CLOSED]),
                Need.helper_organization_id.is_not(None),
            )
            .order_by(Need.created_at)
        )
    ).all()
    orgs = {o.id: o for o in (await session.scalars(select(Organization))).all()}
    for n, need in enumerate(needs):
        county = need.region_code[:6]
        member, caseworker = ids[MEMBERS[county]], ids[CASEWORKERS[county]]
        total = need.quantity or need.amount_fen or 1
        done = need.state != NeedState.DELIVERED
        claim = Claim(
            id=uuid.uuid4(),
            need_id=need.id,
            organization_id=need.helper_organization_id,
            quantity=total,
            state=ClaimState.FULFILLED if done else ClaimState.ACTIVE,
            claimed_by=member,
        )
        fulfilment = Fulfilment(
            id=uuid.uuid4(),
            need_id=need.id,
            organization_id=need.helper_organization_id,
            claim_id=claim.id,
            promised=total,
            state=FulfilmentState.COMPLETED if done else FulfilmentState.OPEN,
        )
        day = today - timedelta(days=3 + n % 40)
        delivery = Delivery(
            id=uuid.uuid4(),
            fulfilment_id=fulfilment.id,
            delivered_on=day,
            description=need.title,
            quantity=total,
            volunteer_minutes=60 * (1 + n % 3),
            state=DeliveryState.CONFIRMED if done else DeliveryState.RECORDED,
            recorded_by=member,
            confirmed_at=None,
            photos=[],
            confirmation_method=ConfirmationMethod.CASEWORKER if done else None,
            confirmed_by=caseworker if done else None,
        )
        session.add(claim)
        await session.flush()
        session.add(fulfilment)
        await session.flush()
        session.add(delivery)
        need.pledged = total
        if done:
            need.delivered = total
            org = orgs[need.helper_organization_id]  # type: ignore[index]
            session.add(
                AssistanceRecord(
                    household_id=need.household_id,
                    occurred_on=day,
                    kind="delivery",
                    summary=need.title,
                    organization_id=org.id,
                    source_type="delivery",
                    source_id=delivery.id,
                    amount_fen=total if need.quantity is None else None,
                    detail={
                        "organization": org.name,
                        "need": need.title,
                        "quantity": total,
                        "unit": need.unit,
                        "amount": need.quantity is None,
                        "method": "caseworker",
                    },
                )
            )
            if n % 2 == 0:
                await session.flush()
                rating = 4 + n % 2 if n % 5 else 3
                session.add(
                    Feedback(
                        delivery_id=delivery.id,
                        organization_id=org.id,
                        rating=rating,
                        comment=COMMENTS[n % len(COMMENTS)],
                    )
                )
                org.rating_sum += rating
                org.rating_count += 1
    households = (await session.scalars(select(Household).order_by(Household.created_at))).all()
    for n, household in enumerate(households):
        interval = default_interval(household.category)
        session.add(
            VisitSchedule(
                household_id=household.id,
                interval_days=interval,
                next_due=today + timedelta(days=(n % 9) * 7 - 14),
            )
        )  # a few overdue
    await session.flush()
