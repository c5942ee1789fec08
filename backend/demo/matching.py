"""Demo matching: a finished run with proposals for 西湖区 (330106).

When an earlier seeder (households, needs, resources) already put published needs and offers
into the county, the run uses them. Otherwise a small, clearly fictitious set is created first
so the coordinator queue is never empty in the demo. Personal fields are encrypted like real
ones; the names are invented.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.keys import get_keys
from backend.households.enums import AssistanceCategory
from backend.households.models import Household
from backend.households.service import CONTEXTS
from backend.items.service import base_taxonomy
from backend.matches.models import MatchingRun, RunState
from backend.needs.models import Need, NeedCategory, NeedState, Urgency
from backend.privacy.crypto import FieldCipher
from backend.resources.models import Resource, ResourceKind, ResourceState

DEMO_COUNTY = "330106"

CATEGORIES = (
    ("food", "食品", "Food", "quantity"),
    ("daily_goods", "生活用品", "Daily goods", "quantity"),
    ("eldercare", "养老照护", "Elder care", "quantity"),
    ("companionship", "陪伴探访", "Companionship", "quantity"),
    ("education", "教育助学", "Education", "quantity"),
    ("medical", "医疗救助", "Medical help", "amount"),
    ("heating", "取暖", "Heating", "quantity"),
    ("cash_grant", "资金资助", "Cash grant", "amount"),
    ("volunteer_visit", "志愿探访", "Volunteer visit", "quantity"),
)


async def ensure_categories(session: AsyncSession) -> None:
    for n, (code, zh, en, measure) in enumerate(CATEGORIES):
        await session.execute(
            insert(NeedCategory)
            .values(code=code, name_zh=zh, name_en=en, measure=measure, sort_order=100 + n)
            .on_conflict_do_nothing(index_elements=["code"])
        )


def _kind(title: str, category: str) -> str | None:
    """The item kind of a demo title (as the forms would infer it)."""
    return base_taxonomy().infer(title, category, strict=True).kind


def _cipher() -> FieldCipher:
    keys = get_keys()
    return FieldCipher(keys.encryption, keys.current_encryption_id)


async def make_household(
    session: AsyncSession,
    *,
    region_code: str,
    registered_by: uuid.UUID,
    category: AssistanceCategory = AssistanceCategory.DIBAO,
    flags: tuple[str, ...] = (),
    vulnerability: float = 0.5,
    name: str = "示例户",
) -> Household:
    cipher = _cipher()
    fake_id = uuid.uuid4().hex
    household = Household(
        id=uuid.uuid4(),
        region_code=region_code,
        head_name_enc=cipher.encrypt(name, context=CONTEXTS["head_name"]),
        id_number_enc=cipher.encrypt(fake_id, context=CONTEXTS["id_number"]),
        id_number_hash=hashlib.sha256(fake_id.encode()).hexdigest(),
        member_ages=[70],
        flags=list(flags),
        category=category,
        vulnerability=vulnerability,
        verified_until=utcnow().date() + timedelta(days=365),
        registered_by=registered_by,
    )
    session.add(household)
    await session.flush()
    return household


async def make_need(
    session: AsyncSession,
    household: Household,
    *,
    created_by: uuid.UUID,
    category: str = "food",
    quantity: int | None = 1,
    amount_fen: int | None = None,
    urgency: Urgency = Urgency.NORMAL,
    title: str = "生活物资",
    waited_days: int = 5,
    public_region_code: str | None = None,
    deadline: date | None = None,
) -> Need:
    need = Need(
        id=uuid.uuid4(),
        household_id=household.id,
        region_code=household.region_code,
        category=category,
        title=title,
        body="",
        quantity=quantity,
        amount_fen=amount_fen,
        urgency=urgency,
        state=NeedState.PUBLISHED,
        published_at=utcnow() - timedelta(days=waited_days),
        public_region_code=public_region_code or household.region_code[:9],
        created_by=created_by,
        deadline=deadline,
        public_profile={},
        item_kind=_kind(title, category),
    )
    session.add(need)
    await session.flush()
    return need


async def make_resource(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    created_by: uuid.UUID,
    category: str = "food",
    capacity: int = 5,
    service_area: tuple[str, ...] = (DEMO_COUNTY,),
    kind: ResourceKind = ResourceKind.GOODS,
    eligibility: dict[str, Any] | None = None,
    title: str = "爱心食品包",
) -> Resource:
    resource = Resource(
        id=uuid.uuid4(),
        organization_id=organization_id,
        kind=kind,
        category=category,
        title=title,
        unit="份",
        capacity=capacity,
        remaining=capacity,
        service_area=list(service_area),
        eligibility=eligibility or {},
        state=ResourceState.ACTIVE,
        created_by=created_by,
        item_kind=_kind(title, category),
    )
    session.add(resource)
    await session.flush()
    return resource


async def _county_has_needs(session: AsyncSession) -> bool:
    count = await session.scalar(
        select(func.count())
        .select_from(Need)
        .where(Need.state == NeedState.PUBLISHED, Need.region_code.startswith(DEMO_COUNTY))
    )
    return bool(count)


async def seed_matching(session: AsyncSession, ids: dict[str, Any]) -> None:
    """Guarded: needs the demo accounts; creates fallback data only for an empty county."""
    caseworker, charity = ids.get("caseworker"), ids.get("org:charity")
    if caseworker is None or charity is None:
        return
    await ensure_categories(session)
    if not await _county_has_needs(session):
        volunteers = ids.get("org:volunteers", charity)
        plan = (
            (
                "330106004053",
                AssistanceCategory.TEKUN,
                ("elderly",),
                0.9,
                "food",
                Urgency.EMERGENCY,
                "紧急生活物资",
                2,
            ),
            (
                "330106004053",
                AssistanceCategory.DIBAO,
                ("disabled",),
                0.7,
                "food",
                Urgency.HIGH,
                "冬季食品包",
                20,
            ),
            (
                "330106009006",
                AssistanceCategory.DIBAO,
                (),
                0.5,
                "daily_goods",
                Urgency.NORMAL,
                "日用品",
                40,
            ),
            (
                "330106009006",
                AssistanceCategory.DIBAO_EDGE,
                ("elderly",),
                0.6,
                "companionship",
                Urgency.NORMAL,
                "每周陪伴探访",
                12,
            ),
            (
                "330106004053",
                AssistanceCategory.TEKUN,
                ("elderly", "seriously_ill"),
                0.95,
                "eldercare",
                Urgency.HIGH,
                "老人照护",
                9,
            ),
        )
        for n, (region, cat, flags, vuln, need_cat, urgency, title, waited) in enumerate(
            plan, start=1
        ):
            household = await make_household(
                session,
                region_code=region,
                registered_by=caseworker,
                category=cat,
                flags=flags,
                vulnerability=vuln,
                name=f"演示户{n}",
            )
            await make_need(
                session,
                household,
                created_by=caseworker,
                category=need_cat,
                urgency=urgency,
                title=title,
                waited_days=waited,
                quantity=2 if need_cat == "food" else 1,
            )
        await make_resource(
            session,
            organization_id=charity,
            created_by=ids.get("org_admin", caseworker),
            category="food",
            capacity=4,
            title="慈善总会爱心食品包",
        )
        await make_resource(
            session,
            organization_id=volunteers,
            created_by=ids.get("org_admin", caseworker),
            category="volunteer_visit",
            capacity=6,
            title="青年志愿者上门探访",
            service_area=("330106004", "330106009"),
        )
    from backend.matches.service import run_county

    run = MatchingRun(
        id=uuid.uuid4(),
        county_code=DEMO_COUNTY,
        state=RunState.RUNNING,
        progress=10,
        started_at=utcnow(),
        stats={},
        error="",
    )
    session.add(run)
    await session.flush()
    await run_county(session, run)
    ids["matching_run"] = run.id
