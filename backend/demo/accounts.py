"""Demo users and organizations. The printed sign-ins are for the local demo only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import (
    Membership,
    Organization,
    OrgRole,
    OrgStatus,
    OrgType,
    Role,
    RoleGrant,
    User,
    UserStatus,
)
from backend.accounts.passwords import hash_password
from backend.core.db import utcnow
from backend.privacy.uscc import make_fake_uscc

DEMO_PASSWORD = "tongxin-demo-2026"  # noqa: S105 - demo data, printed by `make run`


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    name: str
    role: Role | None
    region: str | None = None
    org: str | None = None
    org_role: OrgRole | None = None


DEMO_ORGS = {
    "charity": (
        "杭州市西湖区慈善总会",
        "Xihu District Charity Federation",
        OrgType.CHARITY,
        "330106",
    ),
    "union": ("三门县总工会", "Sanmen County Trade Union", OrgType.TRADE_UNION, "331022"),
    "redcross": ("云和县红十字会", "Yunhe County Red Cross", OrgType.RED_CROSS, "331125"),
    "volunteers": (
        "西湖区青年志愿者协会",
        "Xihu Youth Volunteers",
        OrgType.VOLUNTEER_TEAM,
        "330106",
    ),
    "company": ("浙江同心实业有限公司", "Zhejiang Tongxin Industry Co.", OrgType.COMPANY, "330100"),
    "disabled": (
        "三门县残疾人联合会",
        "Sanmen Disabled Persons' Federation",
        OrgType.DISABLED_FEDERATION,
        "331022",
    ),
}

DEMO_USERS = [
    DemoUser("admin", "admin@demo.tongxin.cn", "平台管理员", Role.ADMIN),
    DemoUser(
        "caseworker", "caseworker@demo.tongxin.cn", "王社工（西湖区）", Role.CASEWORKER, "330106"
    ),
    DemoUser(
        "caseworker_sanmen",
        "caseworker.sanmen@demo.tongxin.cn",
        "李社工（三门县）",
        Role.CASEWORKER,
        "331022",
    ),
    DemoUser(
        "coordinator",
        "coordinator@demo.tongxin.cn",
        "陈协调员（杭州市）",
        Role.COORDINATOR,
        "330100",
    ),
    DemoUser("auditor", "auditor@demo.tongxin.cn", "赵审计", Role.AUDITOR),
    DemoUser("volunteer", "volunteer@demo.tongxin.cn", "刘志愿", Role.VOLUNTEER),
    DemoUser("donor", "donor@demo.tongxin.cn", "周捐赠", Role.DONOR),
    DemoUser(
        "org_admin",
        "charity@demo.tongxin.cn",
        "孙会长（慈善总会）",
        None,
        org="charity",
        org_role=OrgRole.ADMIN,
    ),
    DemoUser(
        "org_member",
        "charity.staff@demo.tongxin.cn",
        "吴干事（慈善总会）",
        None,
        org="charity",
        org_role=OrgRole.MEMBER,
    ),
    DemoUser(
        "union_admin",
        "union@demo.tongxin.cn",
        "郑主席（总工会）",
        None,
        org="union",
        org_role=OrgRole.ADMIN,
    ),
    DemoUser(
        "redcross_admin",
        "redcross@demo.tongxin.cn",
        "冯秘书长（红十字会）",
        None,
        org="redcross",
        org_role=OrgRole.ADMIN,
    ),
]


async def seed_accounts(session: AsyncSession) -> dict[str, uuid.UUID]:
    """Creates the demo organizations and users; returns ids by key (orgs prefixed "org:")."""
    ids: dict[str, uuid.UUID] = {}
    admin_id = uuid.uuid4()
    password_hash = hash_password(DEMO_PASSWORD)
    for n, (key, (name, name_en, org_type, region)) in enumerate(DEMO_ORGS.items(), start=1):
        org = Organization(
            id=uuid.uuid4(),
            name=name,
            name_en=name_en,
            org_type=org_type,
            uscc=make_fake_uscc(
                f"{'91' if org_type == OrgType.COMPANY else '53'}{region}MA2{n:02d}X{n:03d}"[:17]
            ),
            status=OrgStatus.APPROVED,
            region_code=region,
            service_area=[region],
            description="",
            reviewed_at=utcnow(),
        )
        session.add(org)
        ids[f"org:{key}"] = org.id
    await session.flush()
    for demo in DEMO_USERS:
        user = User(
            id=admin_id if demo.key == "admin" else uuid.uuid4(),
            email=demo.email,
            display_name=demo.name,
            password_hash=password_hash,
            locale="zh_CN",
            status=UserStatus.ACTIVE,
            email_verified_at=utcnow(),  # demo addresses need no verification link
        )
        session.add(user)
        await session.flush()
        ids[demo.key] = user.id
        if demo.role is not None:
            session.add(RoleGrant(user_id=user.id, role=demo.role, region_code=demo.region))
        if demo.org is not None and demo.org_role is not None:
            session.add(
                Membership(
                    user_id=user.id, organization_id=ids[f"org:{demo.org}"], role=demo.org_role
                )
            )
    await session.flush()
    return ids
