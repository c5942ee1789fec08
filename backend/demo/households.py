"""Demo households and needs: ~60 households in 西湖区 and 三门县 with fake, checksum-valid
personal data (encrypted like real data), assessments, verifications, consents, and ~100
needs in every state. Rows are written directly (no audit trail: nothing really happened)."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.passwords import hash_password
from backend.households import blind
from backend.households import code as household_code
from backend.households import service as hs
from backend.households.enums import AssistanceCategory, ConsentPurpose
from backend.households.models import (
    Assessment,
    Consent,
    Household,
    HouseholdNameToken,
    Verification,
)
from backend.households.schemas import DIMENSIONS
from backend.items.service import base_taxonomy
from backend.needs.models import Need, NeedState, Urgency
from backend.needs.service import profile_input, public_profile_json
from backend.privacy.idcard import make_fake_id
from backend.privacy.kanon import KAnonIndex
from backend.regions.models import Region, RegionLevel

COUNTIES = {
    "330106": ("caseworker", "org:charity", "杭州市西湖区"),
    "331022": ("caseworker_sanmen", "org:union", "台州市三门县"),
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈"
)
GIVEN = "建国秀英志强丽华明霞海燕春梅桂兰金凤玉珍德明国平红梅小军永康文杰美玲晓东"
ROADS = ["文三路", "古墩路", "天目山路", "余杭塘路", "海游路", "广场路", "健跳大街", "西溪路"]
NEED_TEXTS: dict[str, list[tuple[str, str, str, int | None, int | None]]] = {
    # category: (title, body, unit, quantity, amount_fen)
    "goods": [
        ("冬季棉被和棉衣", "家中老人怕冷，需要两床厚棉被和两件棉衣。", "件", 4, None),
        ("轮椅一台", "行动不便的家庭成员需要一台轻便轮椅，方便日常出行。", "台", 1, None),
    ],
    "meals": [("老人助餐服务", "独居高龄老人做饭困难，希望每周提供五次午餐。", "次", 20, None)],
    "education": [
        ("初中生学习用品与学费", "孩子上初中，需要学习用品和部分学杂费支持。", "", None, 150000)
    ],
    "medical": [("慢性病药费补助", "家庭成员长期服药，医保报销后仍有缺口。", "", None, 300000)],
    "housing_repair": [
        ("屋顶漏雨修缮", "老房子屋顶漏雨，需要更换瓦片和防水处理（暖巢更新）。", "", None, 1000000)
    ],
    "employment": [
        ("家政技能培训", "希望参加家政或养老护理技能培训，找到稳定工作。", "次", 1, None)
    ],
    "companionship": [
        ("每周上门陪伴探访", "独居老人希望志愿者每周上门聊天、帮忙读报。", "次", 8, None)
    ],
    "legal_aid": [
        ("劳动报酬纠纷法律咨询", "需要律师就拖欠工资问题提供咨询和帮助。", "次", 1, None)
    ],
    "micro_wish": [
        ("孩子的新书包", "孩子的微心愿：一个新书包和一套课外读物。", "个", 1, None),
        ("一台收音机", "老人的微心愿：一台能听戏曲的收音机。", "台", 1, None),
    ],
    "cash": [
        ("临时生活困难补助", "突发变故导致临时生活困难，需要过渡性生活补助。", "", None, 200000)
    ],
}
STATE_CYCLE = [
    NeedState.PUBLISHED,
    NeedState.PUBLISHED,
    NeedState.PUBLISHED,
    NeedState.DRAFT,
    NeedState.RESERVED,
    NeedState.IN_PROGRESS,
    NeedState.DELIVERED,
    NeedState.CONFIRMED,
    NeedState.CLOSED,
    NeedState.WITHDRAWN,
    NeedState.EXPIRED,
    NeedState.PUBLISHED,
]
PUBLIC = {
    NeedState.PUBLISHED,
    NeedState.RESERVED,
    NeedState.IN_PROGRESS,
    NeedState.DELIVERED,
    NeedState.CONFIRMED,
    NeedState.CLOSED,
}


def _ages(rng: random.Random) -> list[int]:
    kind = rng.random()
    if kind < 0.25:
        return [rng.randint(65, 90)]
    if kind < 0.4:
        return [rng.randint(60, 85), rng.randint(58, 85)]
    if kind < 0.6:
        return [rng.randint(35, 50), rng.randint(33, 50), rng.randint(6, 16)]
    if kind < 0.8:
        return [rng.randint(25, 59) for _ in range(rng.randint(1, 3))]
    return [rng.randint(40, 55), rng.randint(68, 88), rng.randint(8, 17), rng.randint(3, 12)]


async def seed_households(session: AsyncSession, ids: dict[str, Any]) -> None:
    rng = random.Random(20261123)  # noqa: S311 - reproducible demo data, not security
    today = hs.today_local()
    now = datetime.combine(today, time(9, 0), hs.SHANGHAI)
    households: list[tuple[Household, str, str]] = []
    dependents: list[Any] = []
    seq = 0
    for county, (caseworker_key, _org, prefix) in COUNTIES.items():
        regions = (
            await session.execute(
                select(Region.code, Region.path, Region.name)
                .where(
                    Region.path.like(f"%.{county}.%"),
                    Region.level.in_([RegionLevel.TOWNSHIP, RegionLevel.COMMUNITY]),
                )
                .order_by(Region.path)
            )
        ).all()
        caseworker = ids[caseworker_key]
        for n in range(30):
            code, path, region_name = regions[n % len(regions)]
            seq += 1
            ages = _ages(rng)
            flags = sorted(
                ({"minor"} if any(a < 18 for a in ages) else set())
                | ({"elderly"} if any(a >= 60 for a in ages) else set())
                | {
                    f
                    for f in ("disabled", "seriously_ill", "veteran", "union_hardship")
                    if rng.random() < 0.08
                }
            )
            category = rng.choice(list(AssistanceCategory))
            birth = date(today.year - ages[0], rng.randint(1, 12), rng.randint(1, 28))
            name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
            id_number = make_fake_id(county, birth, seq % 1000)
            phone = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
            road = f"{rng.choice(ROADS)}{rng.randint(1, 300)}号"
            address = (
                f"浙江省{prefix}{region_name}{road}{rng.randint(1, 12)}幢{rng.randint(101, 602)}室"
            )
            lapsed = n % 10 == 9
            verified_until = (
                today - timedelta(days=rng.randint(1, 30))
                if lapsed
                else today + timedelta(days=rng.randint(30, 330))
            )
            scores = {d: rng.randint(0, 4) for d in DIMENSIONS}
            h = Household(
                id=uuid.uuid4(),
                region_code=code,
                head_name_enc=hs._enc("head_name", name) or b"",
                id_number_enc=hs._enc("id_number", id_number) or b"",
                id_number_hash=hs.id_hash(id_number),
                phone_enc=hs._enc("phone", phone),
                phone_hash=blind.phone_hash(phone),
                address_enc=hs._enc("address", address),
                member_ages=ages,
                flags=flags,
                category=category,
                unstable_income=category == AssistanceCategory.DIBAO and n % 3 == 0,
                verified_until=verified_until,
                vulnerability=hs.vulnerability_index(scores),
                registered_by=caseworker,
            )
            session.add(h)
            dependents.extend(
                HouseholdNameToken(token_hash=t, household_id=h.id)
                for t in blind.name_token_hashes(name)
            )
            dependents.append(
                Verification(
                    household_id=h.id,
                    verified_by=caseworker,
                    verified_at=now - timedelta(days=200),
                    basis="入户核查及收入核对（演示数据）",
                    valid_until=verified_until,
                )
            )
            dependents.append(
                Assessment(
                    household_id=h.id,
                    assessed_by=caseworker,
                    assessed_at=now - timedelta(days=190),
                    vulnerability=hs.vulnerability_index(scores),
                    note="",
                    **scores,
                )
            )
            if n % 15 != 14:  # a few households have not consented yet
                dependents.append(
                    Consent(
                        household_id=h.id,
                        purpose=ConsentPurpose.PUBLISH_NEEDS,
                        scope="",
                        given_at=now - timedelta(days=180),
                        recorded_by=caseworker,
                        guardian_consent=any(a < 14 for a in ages),
                    )
                )
            households.append((h, path, caseworker_key))
    await session.flush()
    session.add_all(dependents)
    await session.flush()

    index = KAnonIndex([profile_input(p, h.member_ages, h.flags) for h, p, _ in households])
    texts = [item for items in NEED_TEXTS.values() for item in items]
    categories = [cat for cat, items in NEED_TEXTS.items() for _ in items]
    count = 0
    for i, (h, path, caseworker_key) in enumerate(households):
        county = path.split(".")[2]
        for j in range(1 + (i % 3 != 0) + (i % 7 == 0)):
            state = STATE_CYCLE[count % len(STATE_CYCLE)]
            pick = (i * 3 + j) % len(texts)
            title, body, unit, qty, amount = texts[pick]
            public = state in PUBLIC
            target = profile_input(path, h.member_ages, h.flags)
            result = index.generalize(target, 5)
            if not result.k_satisfied:
                result = index.generalize(target, 5, drop_flags=True)
            deadline = (
                today - timedelta(days=3)
                if state == NeedState.EXPIRED
                else today + timedelta(days=rng.randint(7, 90))
            )
            need = Need(
                id=uuid.uuid4(),
                household_id=h.id,
                region_code=h.region_code,
                category=categories[pick],
                title=title,
                body=body,
                quantity=qty,
                unit=unit,
                amount_fen=amount,
                urgency=rng.choice(
                    [Urgency.EMERGENCY, Urgency.HIGH, Urgency.NORMAL, Urgency.NORMAL]
                ),
                deadline=deadline,
                state=state,
                # the item kind the need form would infer from the title (matching compares kinds)
                item_kind=base_taxonomy().infer(title, categories[pick], strict=True).kind,
                created_by=ids[caseworker_key],
                hidden_reason="verification_lapsed"
                if public
                and h.verified_until
                and h.verified_until < today
                and state not in (NeedState.CONFIRMED, NeedState.CLOSED)
                else None,
                public_region_code=result.region_code
                if public or state == NeedState.EXPIRED
                else None,
                public_profile=public_profile_json(result)
                if public or state == NeedState.EXPIRED
                else {},
                published_at=now - timedelta(days=rng.randint(1, 60)) if public else None,
                helper_organization_id=ids[COUNTIES[county][1]]
                if state in PUBLIC - {NeedState.PUBLISHED}
                else None,
            )
            session.add(need)
            count += 1
    await session.flush()


# One demo household's 幸福码 and PIN are fixed, so that `tongxin run` can print them beside the
# demo sign-ins: a newcomer opens /my with them, or confirms a delivery at the "door". Every
# other household gets its card from a caseworker. Real households' codes are random, stored
# only as hashes and never printed or logged.
DEMO_CODE = household_code.with_check("XFMA2026DEM0")
DEMO_PIN = "246810"


async def seed_demo_code(session: AsyncSession, ids: dict[str, Any]) -> None:
    """Give the demo code to the 西湖区 household with the most deliveries, one of them still
    waiting for confirmation (runs after the fulfilment seeder)."""
    from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment

    waiting = func.count().filter(Delivery.state == DeliveryState.RECORDED)
    row = (
        await session.execute(
            select(Need.household_id)
            .join(Fulfilment, Fulfilment.need_id == Need.id)
            .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
            .where(Need.region_code.like("330106%"))
            .group_by(Need.household_id)
            .having(waiting > 0)
            .order_by(func.count().desc(), Need.household_id)
            .limit(1)
        )
    ).first()
    if row is None:
        return
    household = await session.get(Household, row[0])
    assert household is not None
    household.code_hash = household_code.code_hash(DEMO_CODE)
    household.code_tail = DEMO_CODE[-4:]
    household.pin_hash = hash_password(DEMO_PIN)
    household.code_issued_at = datetime.now(hs.SHANGHAI)
    ids["demo_household"] = household.id
    await session.flush()


async def demo_household_sign_in(session: AsyncSession) -> tuple[str, str] | None:
    """The demo household's code (printed form) and PIN, when this database holds them."""
    found = await session.scalar(
        select(Household.id).where(Household.code_hash == household_code.code_hash(DEMO_CODE))
    )
    return (household_code.display(DEMO_CODE), DEMO_PIN) if found else None
