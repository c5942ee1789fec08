"""Test data for the search integration: households, needs and organization listings.

Rows are created directly (the households and needs services are written in parallel);
state moves go through ``backend.needs.states.transition``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.households.enums import AssistanceCategory, ConsentPurpose
from backend.households.models import Consent, Household
from backend.needs.models import Need, NeedCategory, NeedState, Urgency

CATEGORIES = [
    ("food", "食品", "Food"),
    ("education", "助学", "Education"),
    ("housing", "住房", "Housing"),
]


async def ensure_categories(session: AsyncSession) -> None:
    have = set((await session.scalars(select(NeedCategory.code))).all())
    for n, (code, zh, en) in enumerate(CATEGORIES):
        if code not in have:
            session.add(NeedCategory(code=code, name_zh=zh, name_en=en, sort_order=n))
    await session.flush()


async def make_household(
    session: AsyncSession,
    demo: dict[str, Any],
    *,
    region: str = "330106002",
    personal: dict[str, str] | None = None,
    consent: bool = True,
    verified: bool = True,
) -> Household:
    """A household whose personal fields hold ``personal`` values, encrypted as in production
    (the canary scans documents for the plaintext: it appears only if something decrypts and
    leaks it)."""
    from backend.households.service import _enc

    personal = personal or {}
    hh = Household(
        id=uuid.uuid4(),
        region_code=region,
        head_name_enc=_enc("head_name", personal.get("name", "张三")) or b"",
        id_number_enc=_enc("id_number", personal.get("id_number", "330106199001011234")) or b"",
        id_number_hash=uuid.uuid4().hex,
        phone_enc=_enc("phone", personal.get("phone", "13800000000")),
        address_enc=_enc("address", personal.get("address", "西湖区某路1号")),
        member_ages=[70],
        flags=["elderly"],
        category=AssistanceCategory.DIBAO,
        verified_until=(utcnow() + timedelta(days=180 if verified else -1)).date(),
        registered_by=demo["caseworker"],
    )
    session.add(hh)
    await session.flush()
    if consent:
        session.add(
            Consent(
                household_id=hh.id,
                purpose=ConsentPurpose.PUBLISH_NEEDS,
                scope="needs",
                given_at=utcnow(),
                recorded_by=demo["caseworker"],
            )
        )
        await session.flush()
    return hh


async def make_need(
    session: AsyncSession,
    demo: dict[str, Any],
    household: Household,
    *,
    title: str = "为独居老人送米面油",
    body: str = "社区志愿者每周上门",
    category: str = "food",
    public_region: str = "330106",
    state: NeedState = NeedState.DRAFT,
) -> Need:
    need = Need(
        id=uuid.uuid4(),
        household_id=household.id,
        region_code=household.region_code,
        category=category,
        title=title,
        body=body,
        urgency=Urgency.HIGH,
        state=state,
        public_region_code=public_region,
        public_profile={"age_band": "70+"},
        created_by=demo["caseworker"],
        published_at=utcnow() if state != NeedState.DRAFT else None,
    )
    session.add(need)
    await session.flush()
    return need
