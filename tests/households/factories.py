"""Test data: households written directly (encrypted like real ones), needs, referrals."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

from backend.core.db import utcnow
from backend.households import service as hs
from backend.households.enums import AssistanceCategory, ConsentPurpose
from backend.households.models import Consent, Household, Referral
from backend.needs.models import Need, NeedState, Urgency
from backend.privacy.idcard import make_fake_id

_rng = random.SystemRandom()


def fake_id(region6: str = "330106") -> str:
    birth = date(1940, 1, 1) + timedelta(days=_rng.randint(0, 365 * 60))
    return make_fake_id(region6, birth, _rng.randint(0, 999))


async def make_household(
    session: Any,
    registered_by: uuid.UUID,
    *,
    region: str = "330106004",
    ages: tuple[int, ...] = (45, 44),
    verified: bool = True,
    consent: bool = True,
    name: str = "测试户主",
    phone: str = "13812345678",
    address: str = "浙江省杭州市西湖区西溪街道文三路1号",
    id_number: str | None = None,
) -> Household:
    id_number = id_number or fake_id(region[:6])
    h = Household(
        id=uuid.uuid4(),
        region_code=region,
        head_name_enc=hs._enc("head_name", name) or b"",
        id_number_enc=hs._enc("id_number", id_number) or b"",
        id_number_hash=hs.id_hash(id_number),
        phone_enc=hs._enc("phone", phone),
        address_enc=hs._enc("address", address),
        member_ages=list(ages),
        flags=sorted(
            {"minor"}
            if any(a < 18 for a in ages)
            else set() | ({"elderly"} if any(a >= 60 for a in ages) else set())
        ),
        category=AssistanceCategory.DIBAO,
        registered_by=registered_by,
        verified_until=hs.today_local() + timedelta(days=100) if verified else None,
    )
    session.add(h)
    await session.flush()
    if consent:
        session.add(
            Consent(
                household_id=h.id,
                purpose=ConsentPurpose.PUBLISH_NEEDS,
                given_at=utcnow(),
                recorded_by=registered_by,
                guardian_consent=True,
            )
        )
        await session.flush()
    return h


async def make_need(
    session: Any,
    household: Household,
    created_by: uuid.UUID,
    *,
    state: NeedState = NeedState.DRAFT,
    title: str = "需要冬季棉被",
    body: str = "家中老人怕冷。",
) -> Need:
    need = Need(
        id=uuid.uuid4(),
        household_id=household.id,
        region_code=household.region_code,
        category="goods",
        title=title,
        body=body,
        quantity=2,
        unit="床",
        urgency=Urgency.NORMAL,
        state=state,
        created_by=created_by,
        public_profile={},
    )
    session.add(need)
    await session.flush()
    return need


async def make_referral(
    session: Any, referred_by: uuid.UUID, region: str = "330106004"
) -> Referral:
    r = Referral(
        id=uuid.uuid4(),
        region_code=region,
        referred_by=referred_by,
        text_enc=hs.cipher().encrypt("邻居家老人独居生活困难", context="referrals.text"),
    )
    session.add(r)
    await session.flush()
    return r
