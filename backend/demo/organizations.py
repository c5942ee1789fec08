"""Demo data of the supply side: resources, claims, projects (incl. 暖巢更新), volunteer tasks
with slots and hours — and the published needs they refer to.

Published needs with their households are built here for the organizations demo and tests.

The households engineer owns household registration; until then this builds the rows
directly: personal columns encrypted with FieldCipher, the ID number hashed with the id-hash
key, a ``publish_needs`` consent (and optionally ``share_contact``), and the need published.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.core.keys import get_keys
from backend.households.enums import AssistanceCategory, ConsentPurpose
from backend.households.models import Consent, Household
from backend.households.service import CONTEXTS as CONTACT_CONTEXTS
from backend.needs.models import Need, NeedCategory, NeedState, Urgency
from backend.privacy.crypto import FieldCipher, keyed_hash

# The taxonomy itself comes with the migrations (households_0001); these rows only make sure a
# database built without that data migration still has the categories the demo uses.
CATEGORIES = [
    ("goods", "物资", "Goods", "quantity", 10),
    ("meals", "助餐", "Meals", "quantity", 20),
    ("education", "助学", "Education", "amount", 30),
    ("housing_repair", "住房修缮", "Housing repair", "amount", 50),
    ("micro_wish", "微心愿", "Micro-wish", "quantity", 90),
]


async def ensure_categories(session: AsyncSession) -> None:
    rows = [
        {"code": c, "name_zh": zh, "name_en": en, "measure": m, "sort_order": n}
        for c, zh, en, m, n in CATEGORIES
    ]
    await session.execute(
        insert(NeedCategory).values(rows).on_conflict_do_nothing(index_elements=["code"])
    )


def _fake_id_number() -> str:
    return "330106" + "19" + f"{secrets.randbelow(10**10):010d}"


async def make_household(
    session: AsyncSession,
    *,
    registered_by: uuid.UUID,
    region_code: str = "330106",
    category: AssistanceCategory = AssistanceCategory.DIBAO,
    flags: list[str] | None = None,
    head_name: str = "张三",
    phone: str = "13800000000",
    address: str = "西湖区某街道某号",
    share_contact: bool = False,
) -> Household:
    keys = get_keys()
    cipher = FieldCipher(keys.encryption, keys.current_encryption_id)
    id_number = _fake_id_number()
    household = Household(
        id=uuid.uuid4(),
        region_code=region_code,
        head_name_enc=cipher.encrypt(head_name, context=CONTACT_CONTEXTS["head_name"]),
        id_number_enc=cipher.encrypt(id_number, context="households.id_number"),
        id_number_hash=keyed_hash(id_number, keys.id_hash),
        phone_enc=cipher.encrypt(phone, context=CONTACT_CONTEXTS["phone"]),
        address_enc=cipher.encrypt(address, context=CONTACT_CONTEXTS["address"]),
        member_ages=[45, 12],
        flags=flags or [],
        category=category,
        verified_until=utcnow().date() + timedelta(days=365),
        registered_by=registered_by,
    )
    session.add(household)
    await session.flush()
    now = utcnow()
    session.add(
        Consent(
            household_id=household.id,
            purpose=ConsentPurpose.PUBLISH_NEEDS,
            given_at=now,
            recorded_by=registered_by,
        )
    )
    if share_contact:
        session.add(
            Consent(
                household_id=household.id,
                purpose=ConsentPurpose.SHARE_CONTACT,
                given_at=now,
                recorded_by=registered_by,
            )
        )
    await session.flush()
    return household


async def make_published_need(
    session: AsyncSession,
    *,
    household: Household,
    created_by: uuid.UUID,
    title: str = "冬季棉被两床",
    category: str = "goods",
    quantity: int | None = None,
    unit: str = "",
    amount_fen: int | None = None,
    urgency: Urgency = Urgency.NORMAL,
) -> Need:
    await ensure_categories(session)
    need = Need(
        id=uuid.uuid4(),
        household_id=household.id,
        region_code=household.region_code,
        category=category,
        title=title,
        body="",
        quantity=quantity,
        unit=unit,
        amount_fen=amount_fen,
        urgency=urgency,
        state=NeedState.PUBLISHED,
        public_region_code=household.region_code[:6],
        published_at=utcnow(),
        created_by=created_by,
    )
    session.add(need)
    await session.flush()
    return need


async def seed_organizations(session: AsyncSession, ids: dict[str, object]) -> None:
    """Appended to ``SEEDERS``: uses the demo organizations and users of ``seed_accounts``."""
    from backend.accounts.service import load_current_user
    from backend.households.enums import MemberFlag
    from backend.projects import service as projects
    from backend.projects.models import ProjectState
    from backend.resources import service as resources
    from backend.volunteering import service as volunteering
    from backend.volunteering.models import HoursLog, HoursState

    await ensure_categories(session)
    caseworker = ids["caseworker"]
    sanmen = ids["caseworker_sanmen"]
    assert isinstance(caseworker, uuid.UUID)
    assert isinstance(sanmen, uuid.UUID)
    charity_id, union_id = ids["org:charity"], ids["org:union"]
    volunteers_id = ids["org:volunteers"]
    assert isinstance(charity_id, uuid.UUID)
    assert isinstance(union_id, uuid.UUID)
    assert isinstance(volunteers_id, uuid.UUID)
    member = await load_current_user(session, ids["org_member"])  # type: ignore[arg-type]
    union_admin = await load_current_user(session, ids["union_admin"])  # type: ignore[arg-type]
    assert member is not None
    assert union_admin is not None

    # Households and their published needs (西湖区 and 三门县).
    h1 = await make_household(
        session, registered_by=caseworker, share_contact=True, flags=[MemberFlag.ELDERLY.value]
    )
    h2 = await make_household(
        session,
        registered_by=caseworker,
        category=AssistanceCategory.TEKUN,
        flags=[MemberFlag.DISABLED.value],
        head_name="李四",
        phone="13900000001",
    )
    h3 = await make_household(
        session,
        registered_by=sanmen,
        region_code="331022",
        head_name="王五",
        flags=[MemberFlag.UNION_HARDSHIP.value],
        phone="13700000002",
        address="三门县某村",
    )
    blankets = await make_published_need(
        session,
        household=h1,
        created_by=caseworker,
        title="冬季棉被两床",
        quantity=2,
        unit="床",
        urgency=Urgency.HIGH,
    )
    rice = await make_published_need(
        session, household=h2, created_by=caseworker, title="大米 100 公斤", quantity=100, unit="kg"
    )
    await make_published_need(
        session, household=h1, created_by=caseworker, title="老人助行器一台", quantity=1, unit="台"
    )
    await make_published_need(
        session,
        household=h3,
        created_by=sanmen,
        title="困难职工家庭过冬米油",
        quantity=1,
        unit="份",
    )
    homes = [
        await make_published_need(
            session,
            household=h,
            created_by=caseworker,
            title=title,
            category="housing_repair",
            amount_fen=1_000_000,
        )
        for h, title in ((h1, "老房屋顶漏水修缮"), (h2, "无障碍卫生间改造"))
    ]

    # Resources: the charity's blankets and rice; the union's offer only for union households.
    res_blankets = await resources.create_resource(
        session,
        member,
        charity_id,
        kind="goods",
        category="goods",
        title="冬季棉被",
        unit="床",
        capacity=200,
        service_area=["330106"],
        description="西湖区慈善总会冬季送温暖物资。",
        eligibility=resources.build_eligibility([], [], 2),
    )
    res_rice = await resources.create_resource(
        session,
        member,
        charity_id,
        kind="goods",
        category="goods",
        title="爱心大米",
        unit="kg",
        capacity=500,
        service_area=["330100"],
        description="每户每次最多 100 公斤。",
    )
    res_union = await resources.create_resource(
        session,
        union_admin,
        union_id,
        kind="goods",
        category="goods",
        title="困难职工慰问米油",
        unit="份",
        capacity=50,
        service_area=["331022"],
        eligibility=resources.build_eligibility([], ["union_hardship"], 1),
    )
    ids.update(
        {
            "resource:blankets": res_blankets.id,
            "resource:rice": res_rice.id,
            "resource:union": res_union.id,
            "need:blankets": blankets.id,
            "need:rice": rice.id,
        }
    )
    # A partial pledge ("need 100 kg, pledged 40 kg") and a whole claim.
    await resources.claim_need(
        session,
        member,
        need_id=rice.id,
        organization_id=charity_id,
        resource_id=res_rice.id,
        quantity=40,
    )
    claim = await resources.claim_need(
        session,
        member,
        need_id=blankets.id,
        organization_id=charity_id,
        resource_id=res_blankets.id,
    )
    ids["claim:blankets"] = claim.id

    # Projects: a 暖巢更新 home renovation (executing, one plan per household) and a fundraiser.
    nest = await projects.create_project(
        session,
        member,
        charity_id,
        title="暖巢更新·西湖区困难家庭居住改善",
        category="housing_repair",
        region_code="330106",
        target_fen=3_000_000,
        goal="为困难家庭修缮房屋、改造无障碍设施，一户一案，改造前后对比作为评估依据。",
        starts_on=utcnow().date() - timedelta(days=30),
        ends_on=utcnow().date() + timedelta(days=150),
    )
    for target in (ProjectState.FUNDRAISING, ProjectState.FUNDED, ProjectState.EXECUTING):
        await projects.move(session, member, nest.id, target)
    for need, plan in zip(
        homes, ("更换屋面防水层，加固檩条。", "卫生间加装扶手、防滑地面和坐便器。"), strict=True
    ):
        await projects.link_need(session, member, nest.id, need.id, plan)
    fund = await projects.create_project(
        session,
        member,
        charity_id,
        title="助学圆梦·西湖区困难学生助学金",
        category="education",
        region_code="330106",
        target_fen=5_000_000,
        goal="资助困难家庭学生完成学业。",
    )
    await projects.move(session, member, fund.id, ProjectState.FUNDRAISING)
    ids.update({"project:nest": nest.id, "project:education": fund.id})

    # Volunteer tasks with slots; the volunteer's verified and pending hours.
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    visit = await volunteering.create_task(
        session,
        member,
        charity_id,
        title="独居老人冬季探访",
        description="两人一组上门探访，送去慰问品。",
        category="visit",
        region_code="330106",
        place="西湖区文新街道社区服务中心",
        slot=volunteering.SlotIn(soon, soon + timedelta(hours=3), 6),
    )
    await volunteering.add_slot(
        session,
        member,
        visit.id,
        volunteering.SlotIn(soon + timedelta(days=7), soon + timedelta(days=7, hours=3), 4),
    )
    tutoring = await volunteering.create_task(
        session,
        member,
        charity_id,
        title="周末课业辅导",
        category="tutoring",
        region_code="330106",
        place="西湖区青少年活动中心",
        slot=volunteering.SlotIn(soon + timedelta(days=2), soon + timedelta(days=2, hours=2), 3),
    )
    ids.update({"task:visit": visit.id, "task:tutoring": tutoring.id})
    volunteer = ids["volunteer"]
    assert isinstance(volunteer, uuid.UUID)
    session.add_all(
        [
            HoursLog(
                volunteer_id=volunteer,
                organization_id=charity_id,
                served_on=utcnow() - timedelta(days=20),
                minutes=180,
                note="社区助老活动",
                state=HoursState.APPROVED,
                reviewed_by=ids["org_admin"],
                reviewed_at=utcnow() - timedelta(days=19),
            ),
            HoursLog(
                volunteer_id=volunteer,
                organization_id=charity_id,
                served_on=utcnow() - timedelta(days=3),
                minutes=120,
                note="微心愿物资分拣",
                state=HoursState.PENDING,
            ),
        ]
    )
    await session.flush()
