"""``tongxin seed-scale``: a generated province to measure on (issue 14, point 1).

A Zhejiang-shaped province: 11 cities, ~90 counties, 15 townships per county and 10
communities per township (the bundled real regions are kept and extended), then households in
batches of :data:`BATCH`. Every batch is one transaction holding, for its households:

- the households with members (age list) and flags, personal fields encrypted with the
  project's :class:`~backend.privacy.crypto.FieldCipher` and the ID number keyed-hashed, a
  verification (one in ten lapsed), a six-dimension assessment and (mostly) a consent;
- about two needs each, in every state, with the public location/profile generalized by the
  project's k-anonymity code (:class:`~backend.privacy.kanon.KAnonIndex` over the batch's own
  households: a subset of the population, so a group of k found there is a group of k in the
  whole province too) and the k-anonymity counters added for them;
- claims, fulfilments, deliveries, feedback and engine proposals for the needs past
  ``published``; two organizations with a member each, resources, a volunteer task with
  slots, a project with linked needs, paid donations and its ledger (running balance, one
  disbursement);
- one audit row per change it stands for, HMAC-chained after the chain's last row under the
  audit chain's own lock, exactly as ``backend.audit.service.record`` chains them, so
  ``tongxin verify-audit`` verifies the result.

Rows go in with PostgreSQL ``COPY`` (asyncpg ``copy_records_to_table``). Batches are
deterministic (their random generator is seeded by ``seed`` and the batch number) and a batch
whose first household exists is skipped, so an interrupted run resumes where it stopped and
``--households 20000`` after ``--households 1000`` adds the missing 19 batches. The count is
rounded up to whole batches.

The generated rows were not produced by the services, so no outbox events exist for them:
rebuild the search index with ``tongxin reindex`` afterwards. Refuses to touch a database
that holds anything but seed-scale data (a user outside :data:`DOMAIN`).
"""

from __future__ import annotations

import enum
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.accounts.models import Role, User
from backend.accounts.passwords import hash_password
from backend.audit import service as audit
from backend.core.keys import get_keys
from backend.demo.households import GIVEN, NEED_TEXTS, ROADS, SURNAMES
from backend.households import blind
from backend.households import service as hs
from backend.households.counters import add_cells
from backend.households.models import AssistanceCategory
from backend.households.schemas import DIMENSIONS
from backend.needs.service import profile_input, public_profile_json
from backend.privacy.crypto import FieldCipher
from backend.privacy.idcard import make_fake_id
from backend.privacy.kanon import Cell, KAnonIndex
from backend.privacy.uscc import make_fake_uscc
from backend.regions.models import Region, RegionLevel
from backend.regions.service import import_bundled

DOMAIN = "scale.tongxin.invalid"
PASSWORD = "tongxin-scale-2026"  # noqa: S105 - generated benchmark data only, printed by the command
BATCH = 1000
TOWNSHIPS_PER_COUNTY = 15
COMMUNITIES_PER_TOWNSHIP = 10
# (code, name, English name, counties) — the province's real cities and county counts
CITIES = (
    ("330100", "杭州市", "Hangzhou", 13),
    ("330200", "宁波市", "Ningbo", 10),
    ("330300", "温州市", "Wenzhou", 12),
    ("330400", "嘉兴市", "Jiaxing", 7),
    ("330500", "湖州市", "Huzhou", 5),
    ("330600", "绍兴市", "Shaoxing", 6),
    ("330700", "金华市", "Jinhua", 9),
    ("330800", "衢州市", "Quzhou", 6),
    ("330900", "舟山市", "Zhoushan", 4),
    ("331000", "台州市", "Taizhou", 9),
    ("331100", "丽水市", "Lishui", 9),
)
TOWNSHIP_NAMES = "城关 东城 西城 南湖 北山 新塘 清溪 白云 临江 长乐 石门 青山 花园 双溪 金桥"
COMMUNITY_NAMES = "和平 幸福 新村 阳光 春晖 文昌 翠苑 桥西 河畔 梅园 竹林 永安 福田 兴隆 安康"
ORG_TYPES = (
    ("charity", "慈善会", "53"),
    ("volunteer_team", "志愿者协会", "53"),
    ("trade_union", "总工会", "81"),
    ("red_cross", "红十字会", "53"),
    ("company", "实业有限公司", "91"),
    ("social_work_agency", "社会工作服务中心", "52"),
)
# Need states and their weights: every state occurs.
STATES = (
    ("published", 34),
    ("draft", 8),
    ("reserved", 8),
    ("in_progress", 8),
    ("delivered", 6),
    ("confirmed", 10),
    ("closed", 15),
    ("withdrawn", 5),
    ("expired", 6),
)
PUBLIC = {"published", "reserved", "in_progress", "delivered", "confirmed", "closed"}
CLAIMED = PUBLIC - {"published"}
DELIVERED = {"delivered", "confirmed", "closed"}


@dataclass
class Province:
    counties: list[tuple[str, str]]  # (code, city code)
    communities: list[tuple[str, str, str]]  # (code, path, county code)
    caseworkers: dict[str, uuid.UUID]  # county code → user id
    coordinators: dict[str, uuid.UUID]  # city code → user id
    admin: uuid.UUID
    password_hash: str


@dataclass
class Rows:
    """The rows of one batch by table, in COPY order (parents first)."""

    tables: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = field(default_factory=dict)
    audit: list[tuple[datetime, uuid.UUID | None, str, str, str, str, str | None]] = field(
        default_factory=list
    )
    kanon: dict[Cell, int] = field(default_factory=dict)

    def add(self, table: str, columns: Sequence[str], *values: Any) -> None:
        self.tables.setdefault((table, tuple(columns)), []).append(values)

    def log(  # noqa: PLR0917 - the columns of one audit row, in order
        self,
        at: datetime,
        actor: uuid.UUID | None,
        kind: str,
        action: str,
        object_type: str,
        object_id: uuid.UUID,
        region: str | None,
    ) -> None:
        self.audit.append((at, actor, kind, action, object_type, str(object_id), region))


class RealDataPresent(RuntimeError):
    """The database holds users that seed-scale did not generate."""


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _email(kind: str) -> str:
    return f"{kind}@{DOMAIN}"


async def check_generated_only(session: AsyncSession) -> None:
    foreign = await session.scalar(
        select(func.count()).select_from(User).where(~User.email.endswith("@" + DOMAIN))
    )
    if foreign:
        raise RealDataPresent(
            f"the database holds {foreign} users that seed-scale did not generate: "
            "seed-scale only runs on an empty database or on one it generated"
        )


# ---------------------------------------------------------------- the province


async def _regions(session: AsyncSession) -> list[dict[str, Any]]:
    await import_bundled(session)
    existing = {
        code: (path, level)
        for code, path, level in (
            await session.execute(select(Region.code, Region.path, Region.level))
        ).all()
    }
    rows: list[dict[str, Any]] = []

    def add(code: str, parent: str, level: RegionLevel, name: str, name_en: str) -> None:
        if code in existing:
            return
        path = f"{existing[parent][0]}.{code}"
        existing[code] = (path, level)
        rows.append(
            {
                "code": code,
                "parent_code": parent,
                "name": name,
                "name_en": name_en,
                "level": level,
                "path": path,
            }
        )

    townships = TOWNSHIP_NAMES.split()
    communities = COMMUNITY_NAMES.split()
    for city, name, name_en, n_counties in CITIES:
        add(city, "330000", RegionLevel.CITY, name, name_en)
        county_codes = [f"{city[:4]}{n:02d}" for n in range(1, n_counties + 1)]
        county_codes += [
            c
            for c, (path, level) in existing.items()
            if level == RegionLevel.COUNTY and c[:4] == city[:4] and c not in county_codes
        ]
        for n, county in enumerate(county_codes, start=1):
            add(county, city, RegionLevel.COUNTY, f"{name[:-1]}第{n}区", f"{name_en} District {n}")
            for t in range(1, TOWNSHIPS_PER_COUNTY + 1):
                township = f"{county}{t:03d}"
                add(
                    township,
                    county,
                    RegionLevel.TOWNSHIP,
                    f"{townships[t % len(townships)]}街道",
                    f"Subdistrict {t}",
                )
                for c in range(1, COMMUNITIES_PER_TOWNSHIP + 1):
                    add(
                        f"{township}{c:03d}",
                        township,
                        RegionLevel.COMMUNITY,
                        f"{communities[(c + t) % len(communities)]}社区",
                        f"Community {c}",
                    )
    for start in range(0, len(rows), 2000):
        await session.execute(
            insert(Region).values(rows[start : start + 2000]).on_conflict_do_nothing()
        )
    return rows


async def _user(
    session: AsyncSession,
    kind: str,
    name: str,
    password_hash: str,
    *,
    role: Role | None = None,
    region: str | None = None,
) -> uuid.UUID:
    email = _email(kind)
    found = await session.scalar(select(User.id).where(User.email == email))
    if found is not None:
        return found
    user_id = uuid.uuid4()
    conn = await session.connection()
    await conn.execute(
        text(
            "INSERT INTO users (id, email, display_name, password_hash, locale, status)"
            " VALUES (:id, :email, :name, :hash, 'zh_CN', 'active')"
        ),
        {"id": user_id, "email": email, "name": name, "hash": password_hash},
    )
    if role is not None:
        await conn.execute(
            text(
                "INSERT INTO role_grants (id, user_id, role, region_code)"
                " VALUES (:id, :user, :role, :region)"
            ),
            {"id": uuid.uuid4(), "user": user_id, "role": role.value, "region": region},
        )
    return user_id


async def prepare(session: AsyncSession) -> Province:
    """Regions and the standing accounts (idempotent)."""
    await check_generated_only(session)
    await _regions(session)
    existing_hash = await session.scalar(
        select(User.password_hash).where(User.email == _email("admin"))
    )
    password_hash = existing_hash or hash_password(PASSWORD)
    admin = await _user(session, "admin", "生成数据管理员", password_hash, role=Role.ADMIN)
    await _user(session, "auditor", "生成数据审计", password_hash, role=Role.AUDITOR)
    await _user(
        session, "caseworker", "省级社工", password_hash, role=Role.CASEWORKER, region="330000"
    )
    regions = (
        await session.execute(
            select(Region.code, Region.path, Region.level).where(
                Region.level.in_([RegionLevel.COUNTY, RegionLevel.COMMUNITY])
            )
        )
    ).all()
    counties = sorted((c, p.split(".")[1]) for c, p, lv in regions if lv == RegionLevel.COUNTY)
    communities = sorted(
        (c, p, p.split(".")[2]) for c, p, lv in regions if lv == RegionLevel.COMMUNITY
    )
    caseworkers = {
        county: await _user(
            session,
            f"caseworker.{county}",
            f"社工{county}",
            password_hash,
            role=Role.CASEWORKER,
            region=county,
        )
        for county, _ in counties
    }
    coordinators = {
        city: await _user(
            session,
            f"coordinator.{city}",
            f"协调员{city}",
            password_hash,
            role=Role.COORDINATOR,
            region=city,
        )
        for city, *_ in CITIES
    }
    return Province(counties, communities, caseworkers, coordinators, admin, password_hash)


# ---------------------------------------------------------------- one batch


def _ages(rng: random.Random) -> list[int]:
    kind = rng.random()
    if kind < 0.25:
        return [rng.randint(60, 95)]
    if kind < 0.4:
        return [rng.randint(60, 88), rng.randint(58, 88)]
    if kind < 0.6:
        return [rng.randint(30, 50), rng.randint(28, 50), rng.randint(0, 17)]
    if kind < 0.8:
        return [rng.randint(20, 59) for _ in range(rng.randint(1, 3))]
    return [rng.randint(35, 55), rng.randint(65, 90), rng.randint(3, 17), rng.randint(0, 12)]


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _rng(batch: int, seed: int) -> random.Random:
    return random.Random(f"{seed}:{batch}")  # noqa: S311 - reproducible generated data


def first_household(batch: int, seed: int) -> uuid.UUID:
    """The id of the batch's first household (the first draw of its generator)."""
    return _uuid(_rng(batch, seed))


def build_batch(
    batch: int, province: Province, cipher: FieldCipher, *, seed: int, today: date
) -> tuple[uuid.UUID, Rows]:
    """The rows of batch ``batch`` (deterministic); returns its first household's id too."""
    rng = _rng(batch, seed)
    rows = Rows()
    now = datetime.now(UTC)
    first_id = _uuid(rng)
    password_hash = province.password_hash

    def when(max_days: int, min_days: int = 0) -> datetime:
        return now - timedelta(days=rng.randint(min_days, max_days), seconds=rng.randint(0, 86399))

    # organizations with one member each, their resources, a volunteer task
    orgs: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    for n in range(2):
        org_id, user_id = _uuid(rng), _uuid(rng)
        county, _city = province.counties[rng.randrange(len(province.counties))]
        org_type, suffix, prefix = ORG_TYPES[(batch * 2 + n) % len(ORG_TYPES)]
        number = batch * 2 + n
        uscc = make_fake_uscc(f"{prefix}{county}MA{number:07d}"[:17])
        created = when(1000, 400)
        rows.add(
            "users",
            ("id", "email", "display_name", "password_hash", "locale", "status", "created_at"),
            user_id,
            _email(f"org{number}"),
            f"{rng.choice(SURNAMES)}干事",
            password_hash,
            "zh_CN",
            "active",
            created,
        )
        rows.add(
            "organizations",
            (
                "id",
                "name",
                "name_en",
                "org_type",
                "uscc",
                "status",
                "description",
                "region_code",
                "service_area",
                "contact_email",
                "reviewed_by",
                "reviewed_at",
                "created_at",
            ),
            org_id,
            f"生成{county}{suffix}{number}",
            f"Generated {org_type} {number}",
            org_type,
            uscc,
            "approved",
            "为困难家庭提供物资、服务和志愿帮扶。",
            county,
            [county],
            _email(f"org{number}"),
            province.admin,
            created,
            created,
        )
        rows.add(
            "memberships",
            ("id", "user_id", "organization_id", "role"),
            _uuid(rng),
            user_id,
            org_id,
            "admin",
        )
        orgs.append((org_id, user_id, county))
    resources: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    categories = list(NEED_TEXTS)
    for n in range(4):
        org_id, user_id, county = orgs[n % 2]
        category = categories[rng.randrange(len(categories))]
        title = NEED_TEXTS[category][0][0]
        capacity = rng.randint(20, 500)
        resource_id = _uuid(rng)
        rows.add(
            "resources",
            (
                "id",
                "organization_id",
                "kind",
                "category",
                "title",
                "description",
                "unit",
                "capacity",
                "remaining",
                "service_area",
                "eligibility",
                "available_from",
                "available_until",
                "state",
                "created_by",
                "created_at",
            ),
            resource_id,
            org_id,
            "goods" if category in ("goods", "micro_wish") else "service",
            category,
            f"提供：{title}",
            "面向辖区困难家庭。",
            "",
            capacity,
            rng.randint(0, capacity),
            [county],
            json.dumps({"max_per_household": 2}),
            today - timedelta(days=rng.randint(0, 200)),
            today + timedelta(days=rng.randint(30, 365)),
            "active" if n < 3 else "paused",
            user_id,
            when(400),
        )
        resources.append((resource_id, org_id, county))
    task_id = _uuid(rng)
    org_id, user_id, county = orgs[0]
    rows.add(
        "volunteer_tasks",
        (
            "id",
            "organization_id",
            "title",
            "description",
            "category",
            "region_code",
            "place",
            "state",
            "created_by",
        ),
        task_id,
        org_id,
        "周末探访独居老人",
        "陪伴聊天、帮忙整理家务。",
        "companionship",
        county,
        "社区服务中心",
        "open",
        user_id,
    )
    for d in (3, 10):
        starts = now + timedelta(days=d + rng.randint(0, 20))
        rows.add(
            "task_slots",
            ("id", "task_id", "starts_at", "ends_at", "capacity", "taken"),
            _uuid(rng),
            task_id,
            starts,
            starts + timedelta(hours=3),
            rng.randint(5, 20),
            0,
        )

    # households
    base = batch * BATCH
    households: list[
        tuple[uuid.UUID, str, str, list[int], list[str], date, uuid.UUID, datetime]
    ] = []
    for j in range(BATCH):
        index = base + j
        household_id = first_id if j == 0 else _uuid(rng)
        community, path, county = province.communities[rng.randrange(len(province.communities))]
        caseworker = province.caseworkers[county]
        ages = _ages(rng)
        flags = sorted(
            ({"minor"} if any(a < 18 for a in ages) else set())
            | ({"elderly"} if any(a >= 60 for a in ages) else set())
            | {
                f
                for f in ("disabled", "seriously_ill", "veteran", "union_hardship")
                if rng.random() < 0.07
            }
        )
        category = rng.choice(list(AssistanceCategory)).value
        # unique by construction: (index // 365000, day, seq) differ for different indexes
        day, seq = divmod(index % 365_000, 1000)
        head_age = max(ages[0], 18)
        birth = date(today.year - head_age, 1, 1) + timedelta(days=day)
        id_number = make_fake_id(f"3399{index // 365_000:02d}", birth, seq)
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        phone = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
        address = f"浙江省{rng.choice(ROADS)}{rng.randint(1, 300)}号{rng.randint(1, 12)}幢{rng.randint(101, 602)}室"
        lapsed = rng.random() < 0.1
        verified_until = (
            today - timedelta(days=rng.randint(1, 60))
            if lapsed
            else today + timedelta(days=rng.randint(30, 360))
        )
        scores = {d: rng.randint(0, 4) for d in DIMENSIONS}
        vulnerability = hs.vulnerability_index(scores)
        created = when(1000, 30)
        rows.add(
            "households",
            (
                "id",
                "region_code",
                "head_name_enc",
                "id_number_enc",
                "id_number_hash",
                "phone_enc",
                "phone_hash",
                "address_enc",
                "member_ages",
                "flags",
                "category",
                "unstable_income",
                "status",
                "verified_until",
                "vulnerability",
                "registered_by",
                "created_at",
                "updated_at",
            ),
            household_id,
            community,
            cipher.encrypt(name, context=hs.CONTEXTS["head_name"]),
            cipher.encrypt(id_number, context=hs.CONTEXTS["id_number"]),
            hs.id_hash(id_number),
            cipher.encrypt(phone, context=hs.CONTEXTS["phone"]),
            blind.phone_hash(phone),
            cipher.encrypt(address, context=hs.CONTEXTS["address"]),
            ages,
            flags,
            category,
            category == "dibao" and rng.random() < 0.3,
            "active",
            verified_until,
            vulnerability,
            caseworker,
            created,
            created,
        )
        add_cells(rows.kanon, path, ages, flags, 1)
        for token in blind.name_token_hashes(name):  # the registry's name search
            rows.add("household_name_tokens", ("token_hash", "household_id"), token, household_id)
        rows.log(
            created,
            caseworker,
            "user:caseworker",
            "household.registered",
            "household",
            household_id,
            community,
        )
        verified_at = created + timedelta(days=rng.randint(0, 20))
        rows.add(
            "verifications",
            ("id", "household_id", "verified_by", "verified_at", "basis", "valid_until"),
            _uuid(rng),
            household_id,
            caseworker,
            verified_at,
            "入户核查及收入核对（生成数据）",
            verified_until,
        )
        rows.add(
            "assessments",
            (
                "id",
                "household_id",
                "assessed_by",
                "assessed_at",
                "vulnerability",
                "note",
                *DIMENSIONS,
            ),
            _uuid(rng),
            household_id,
            caseworker,
            verified_at,
            vulnerability,
            "",
            *scores.values(),
        )
        if rng.random() < 0.93:
            rows.add(
                "consents",
                (
                    "id",
                    "household_id",
                    "purpose",
                    "scope",
                    "given_at",
                    "recorded_by",
                    "guardian_consent",
                ),
                _uuid(rng),
                household_id,
                "publish_needs",
                "",
                verified_at,
                caseworker,
                any(a < 14 for a in ages),
            )
        households.append(
            (household_id, community, path, ages, flags, verified_until, caseworker, created)
        )

    # needs and what happened to them
    index_ = KAnonIndex([profile_input(p, a, f) for _, _, p, a, f, _, _, _ in households])
    texts = [(cat, item) for cat, items in NEED_TEXTS.items() for item in items]
    published_needs: list[uuid.UUID] = []
    need_columns = (
        "id",
        "household_id",
        "region_code",
        "category",
        "title",
        "body",
        "quantity",
        "unit",
        "amount_fen",
        "pledged",
        "delivered",
        "urgency",
        "deadline",
        "state",
        "hidden_reason",
        "public_region_code",
        "public_profile",
        "published_at",
        "helper_organization_id",
        "created_by",
        "created_at",
        "updated_at",
    )
    for (
        household_id,
        community,
        path,
        ages,
        flags,
        verified_until,
        caseworker,
        created,
    ) in households:
        count = 1 + (rng.random() < 0.7) + (rng.random() < 0.2)
        generalized = None
        for _ in range(count):
            need_id = _uuid(rng)
            state = _weighted(rng, STATES)
            category, (title, body, unit, qty, amount) = texts[rng.randrange(len(texts))]
            made = created + timedelta(days=rng.randint(1, 25), seconds=rng.randint(0, 86399))
            public = state in PUBLIC or state == "expired"
            if public and generalized is None:
                target = profile_input(path, ages, flags)
                generalized = index_.generalize(target, 5)
                if not generalized.k_satisfied:
                    generalized = index_.generalize(target, 5, drop_flags=True)
            measure = qty if qty is not None else amount
            assert measure is not None
            pledged = measure if state in CLAIMED else 0
            delivered = measure if state in DELIVERED else 0
            helper = None
            if state in CLAIMED:
                resource_id, helper, _ = resources[rng.randrange(len(resources))]
            hidden = (
                "verification_lapsed"
                if public and verified_until < today and state not in ("confirmed", "closed")
                else None
            )
            published_at = made + timedelta(hours=rng.randint(1, 72)) if public else None
            rows.add(
                "needs",
                need_columns,
                need_id,
                household_id,
                community,
                category,
                title,
                body,
                qty,
                unit,
                amount,
                pledged,
                delivered,
                rng.choice(("emergency", "high", "normal", "normal", "normal")),
                today - timedelta(days=rng.randint(1, 30))
                if state == "expired"
                else today + timedelta(days=rng.randint(7, 120)),
                state,
                hidden,
                generalized.region_code if public and generalized else None,
                json.dumps(public_profile_json(generalized) if public and generalized else {}),
                published_at,
                helper,
                caseworker,
                made,
                made,
            )
            rows.log(made, caseworker, "user:caseworker", "need.draft", "need", need_id, community)
            if published_at is not None:
                rows.log(
                    published_at,
                    caseworker,
                    "user:caseworker",
                    "need.published",
                    "need",
                    need_id,
                    community,
                )
            if state == "published" and hidden is None:
                published_needs.append(need_id)
            if state not in CLAIMED or helper is None:
                continue
            member = next(u for o, u, _ in orgs if o == helper)
            claimed_at = (published_at or made) + timedelta(hours=rng.randint(1, 96))
            claim_id = _uuid(rng)
            rows.add(
                "claims",
                (
                    "id",
                    "need_id",
                    "organization_id",
                    "resource_id",
                    "quantity",
                    "state",
                    "claimed_by",
                    "created_at",
                ),
                claim_id,
                need_id,
                helper,
                resource_id,
                measure,
                "fulfilled" if state in DELIVERED else "active",
                member,
                claimed_at,
            )
            rows.log(claimed_at, member, "user:org", "need.reserved", "need", need_id, community)
            if state == "reserved":
                continue
            fulfilment_id = _uuid(rng)
            rows.add(
                "fulfilments",
                ("id", "need_id", "organization_id", "claim_id", "state", "promised", "created_at"),
                fulfilment_id,
                need_id,
                helper,
                claim_id,
                "completed" if state in ("confirmed", "closed") else "open",
                measure,
                claimed_at,
            )
            rows.log(claimed_at, member, "user:org", "need.in_progress", "need", need_id, community)
            if state == "in_progress":
                continue
            delivery_id = _uuid(rng)
            delivered_at = claimed_at + timedelta(days=rng.randint(1, 20))
            confirmed = state in ("confirmed", "closed")
            rows.add(
                "deliveries",
                (
                    "id",
                    "fulfilment_id",
                    "delivered_on",
                    "description",
                    "quantity",
                    "volunteer_minutes",
                    "notes",
                    "photos",
                    "state",
                    "recorded_by",
                    "confirmed_at",
                    "confirmation_method",
                    "confirmed_by",
                    "created_at",
                ),
                delivery_id,
                fulfilment_id,
                delivered_at.date(),
                f"已送达：{title}",
                measure,
                rng.choice((0, 60, 120, 180)),
                "",
                [],
                "confirmed" if confirmed else "recorded",
                member,
                delivered_at + timedelta(hours=2) if confirmed else None,
                rng.choice(("code_and_pin", "caseworker")) if confirmed else None,
                caseworker if confirmed else None,
                delivered_at,
            )
            rows.log(
                delivered_at,
                member,
                "user:org",
                "delivery.recorded",
                "delivery",
                delivery_id,
                community,
            )
            if confirmed:
                rows.log(
                    delivered_at,
                    None,
                    "household",
                    "delivery.confirmed",
                    "delivery",
                    delivery_id,
                    community,
                )
                if rng.random() < 0.7:
                    rows.add(
                        "feedback",
                        ("id", "delivery_id", "organization_id", "rating", "comment"),
                        _uuid(rng),
                        delivery_id,
                        helper,
                        rng.choice((3, 4, 4, 5, 5, 5)),
                        "",
                    )

    # engine proposals for some published needs (the coordinators' queue)
    for need_id in published_needs[: len(published_needs) // 6]:
        resource_id, org_id, _ = resources[rng.randrange(len(resources))]
        score = round(rng.uniform(0.3, 0.95), 3)
        rows.add(
            "matches",
            (
                "id",
                "need_id",
                "resource_id",
                "organization_id",
                "source",
                "state",
                "quantity",
                "score",
                "score_parts",
                "explanation",
                "reason",
                "expires_at",
            ),
            _uuid(rng),
            need_id,
            resource_id,
            org_id,
            "engine",
            "proposed",
            1,
            score,
            json.dumps({"urgency": round(score / 2, 3), "distance": round(score / 2, 3)}),
            json.dumps([]),
            "",
            now + timedelta(days=7),
        )

    # one project with linked needs, paid donations and its ledger
    project_id = _uuid(rng)
    org_id, user_id, county = orgs[1]
    donations = [rng.choice((5_000, 10_000, 20_000, 50_000, 100_000)) for _ in range(8)]
    raised = sum(donations)
    rows.add(
        "projects",
        (
            "id",
            "organization_id",
            "title",
            "goal",
            "category",
            "region_code",
            "target_fen",
            "raised_fen",
            "state",
            "last_update_at",
            "created_by",
            "created_at",
        ),
        project_id,
        org_id,
        f"暖巢更新 · {county} 第{batch + 1}期",
        "为困难家庭修缮住房，改善居住条件。",
        "housing_repair",
        county,
        raised * 2,
        raised,
        rng.choice(("fundraising", "fundraising", "executing", "completed")),
        when(30),
        user_id,
        when(500, 100),
    )
    for need_id in published_needs[-3:]:
        rows.add(
            "project_needs",
            ("id", "project_id", "need_id", "plan", "before_photos", "after_photos"),
            _uuid(rng),
            project_id,
            need_id,
            "修缮屋顶和门窗",
            [],
            [],
        )
    balance = 0
    for amount in donations:
        donation_id = _uuid(rng)
        at = when(90)
        rows.add(
            "donations",
            (
                "id",
                "project_id",
                "amount_fen",
                "channel",
                "state",
                "anonymous",
                "display_name",
                "message",
                "offline_reference",
                "confirmed_by",
                "created_at",
            ),
            donation_id,
            project_id,
            amount,
            "offline",
            "paid",
            rng.random() < 0.3,
            f"{rng.choice(SURNAMES)}先生",
            "",
            f"SCALE-{batch}-{amount}",
            user_id,
            at,
        )
        balance += amount
        rows.add(
            "ledger_entries",
            (
                "id",
                "project_id",
                "entry_type",
                "amount_fen",
                "balance_after_fen",
                "donation_id",
                "reason",
                "booked_by",
                "created_at",
            ),
            _uuid(rng),
            project_id,
            "donation",
            amount,
            balance,
            donation_id,
            "",
            user_id,
            at,
        )
        rows.log(at, user_id, "user:org", "donation.paid", "donation", donation_id, county)
    spent = balance // 2
    rows.add(
        "ledger_entries",
        (
            "id",
            "project_id",
            "entry_type",
            "amount_fen",
            "balance_after_fen",
            "reason",
            "receipt_path",
            "booked_by",
            "created_at",
        ),
        _uuid(rng),
        project_id,
        "disbursement",
        -spent,
        balance - spent,
        "采购修缮材料",
        f"receipts/scale/{project_id}.pdf",
        user_id,
        now,
    )
    return first_id, rows


# ---------------------------------------------------------------- writing a batch

TABLE_ORDER = (
    "users",
    "organizations",
    "memberships",
    "resources",
    "volunteer_tasks",
    "task_slots",
    "households",
    "household_name_tokens",
    "verifications",
    "assessments",
    "consents",
    "needs",
    "claims",
    "fulfilments",
    "deliveries",
    "feedback",
    "matches",
    "projects",
    "project_needs",
    "donations",
    "ledger_entries",
)


def _defaults(table: str, columns: list[str]) -> tuple[list[str], tuple[Any, ...]]:
    """The model's Python-side defaults of the columns a batch leaves out (COPY only applies
    the database's own defaults)."""
    from backend.models import Base  # every domain's tables

    names, values = [], []
    for column in Base.metadata.tables[table].columns:
        if column.name in columns or column.server_default is not None or column.default is None:
            continue
        default: Any = column.default
        value = default.arg(None) if default.is_callable else default.arg
        if isinstance(column.type, JSONB):
            value = json.dumps(value)
        names.append(column.name)
        values.append(value.value if isinstance(value, enum.Enum) else value)
    return names, tuple(values)


async def _copy(
    session: AsyncSession, table: str, columns: list[str], records: list[tuple[Any, ...]]
) -> None:
    extra_names, extra = _defaults(table, columns)
    if extra_names:
        columns = columns + extra_names
        records = [r + extra for r in records]
    conn = await session.connection()
    # asyncpg's adapter opens the transaction lazily, at its first statement: make sure it is
    # open, or COPY through the driver connection would commit on its own
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table, records=records, columns=columns)


async def _append_audit(session: AsyncSession, entries: list[Any]) -> None:
    """Write the batch's audit entries as ``audit.record`` does (each with its row MAC and a
    row in the sealer's queue), then chain them with the sealer."""
    key = get_keys().audit
    entry_rows = []
    pending_rows = []
    for at, actor, kind, action, object_type, object_id, region in sorted(
        entries, key=lambda e: e[0]
    ):
        # the fields the row MAC covers, without an ORM instance per row
        entry: Any = SimpleNamespace(
            id=uuid.uuid4(),
            occurred_at=at,
            actor_id=actor,
            actor_kind=kind,
            action=action,
            object_type=object_type,
            object_id=object_id,
            region_code=region,
            detail={},
        )
        mac = audit.entry_mac(key, entry)
        entry_rows.append(
            (entry.id, at, actor, kind, action, object_type, object_id, region, "{}", mac)
        )
        pending_rows.append((entry.id, at))
    await _copy(
        session,
        "audit_log",
        [
            "id",
            "occurred_at",
            "actor_id",
            "actor_kind",
            "action",
            "object_type",
            "object_id",
            "region_code",
            "detail",
            "row_mac",
        ],
        entry_rows,
    )
    await _copy(session, "audit_pending", ["entry_id", "occurred_at"], pending_rows)
    await audit.seal_all(session, key=key)


async def _add_kanon(session: AsyncSession, deltas: dict[Cell, int]) -> None:
    """Add the batch's k-anonymity deltas: COPY into a temporary table, then one upsert in
    key order (as ``counters.upsert_statement`` does for a single household)."""
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS kanon_delta (location text,"
            " profile_level smallint, profile text, households integer) ON COMMIT DELETE ROWS"
        )
    )
    await session.execute(text("TRUNCATE kanon_delta"))
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(
        "kanon_delta", records=[(*c, n) for c, n in deltas.items() if n]
    )
    await session.execute(
        text(
            "INSERT INTO kanon_cells (location, profile_level, profile, households)"
            " SELECT location, profile_level, profile, households FROM kanon_delta"
            " ORDER BY location, profile_level, profile"
            " ON CONFLICT (location, profile_level, profile)"
            " DO UPDATE SET households = kanon_cells.households + excluded.households"
        )
    )


async def write_batch(session: AsyncSession, rows: Rows) -> int:
    written = 0
    for table in TABLE_ORDER:
        for (name, columns), records in rows.tables.items():
            if name == table:
                await _copy(session, table, list(columns), records)
                written += len(records)
    await _add_kanon(session, rows.kanon)
    await _append_audit(session, rows.audit)
    return written + len(rows.audit)


async def _exists(session: AsyncSession, household_id: uuid.UUID) -> bool:
    found = await session.scalar(
        text("SELECT 1 FROM households WHERE id = :id"), {"id": household_id}
    )
    return found is not None


async def seed_scale(
    sessions: async_sessionmaker[Any],
    households: int,
    *,
    seed: int = 14,
    progress: Callable[[str], None],
) -> dict[str, int]:
    """Grow the generated province to ``households`` (rounded up to whole batches)."""
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        province = await prepare(session)
    keys = get_keys()
    cipher = FieldCipher(keys.encryption, keys.current_encryption_id)
    today = hs.today_local()
    batches = -(-households // BATCH)
    made = skipped = rows_written = 0
    for batch in range(batches):
        async with sessions() as session, session.begin():
            if await _exists(session, first_household(batch, seed)):
                skipped += 1
                continue
            _, rows = build_batch(batch, province, cipher, seed=seed, today=today)
            rows_written += await write_batch(session, rows)
        made += 1
        if made % 10 == 0 or batch == batches - 1:
            elapsed = time.perf_counter() - started
            progress(
                f"  batch {batch + 1}/{batches}: {(batch + 1) * BATCH} households,"
                f" {rows_written} rows written, {elapsed:.0f}s"
            )
    if made:  # generated rows have no outbox events: recount the maintained figures once
        from backend.dashboard.figures import rebuild as rebuild_dashboard
        from backend.matches import queue
        from backend.matches.figures import rebuild
        from backend.organizations.figures import rebuild as rebuild_org_figures

        async with sessions() as session, session.begin():
            await rebuild(session)
            await queue.rebuild(session)
            await rebuild_org_figures(session)
        async with sessions() as session, session.begin():
            await rebuild_dashboard(session)
    # VACUUM as autovacuum would on a live database: it sets the visibility map, without which
    # the lists' capped counts read the heap instead of their index alone (index-only scans)
    async with sessions.kw["bind"].connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM (ANALYZE)"))
    return {
        "households": batches * BATCH,
        "batches_written": made,
        "batches_skipped": skipped,
        "rows": rows_written,
        "seconds": round(time.perf_counter() - started),
    }


async def run(db_url: str, households: int, *, seed: int = 14, out: Callable[[str], None]) -> int:
    """The ``tongxin seed-scale`` command (after migrations)."""
    from backend.core.db import make_engine, make_sessionmaker

    engine = make_engine(db_url, pool_size=2)
    try:
        stats = await seed_scale(make_sessionmaker(engine), households, seed=seed, progress=out)
    except RealDataPresent as exc:
        out(f"seed-scale refused: {exc}")
        return 2
    finally:
        await engine.dispose()
    out(
        f"seed-scale: {stats['households']} households ({stats['batches_written']} batches written,"
        f" {stats['batches_skipped']} already there), {stats['rows']} rows in {stats['seconds']}s."
        f"\nSign in as {_email('caseworker')} (province), caseworker.<county>@{DOMAIN},"
        f" coordinator.<city>@{DOMAIN}, org<n>@{DOMAIN} or {_email('admin')}"
        f" with the password {PASSWORD}. Run `tongxin reindex` to build the search index."
    )
    return 0
