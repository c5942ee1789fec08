"""Small builders for matches tests: a county with needs and offers, and a current user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.service import load_current_user
from backend.demo.matching import ensure_categories, make_household, make_need, make_resource
from backend.households.enums import AssistanceCategory
from backend.households.models import Household
from backend.needs.models import Need, Urgency
from backend.resources.models import Resource


async def user(session: AsyncSession, user_id: uuid.UUID) -> CurrentUser:
    current = await load_current_user(session, user_id)
    assert current is not None
    return current


@dataclass
class World:
    households: list[Household] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)


async def world(
    session: AsyncSession,
    demo: dict[str, Any],
    *,
    community: str = "330102016001",
    org: str = "org:charity",
    needs: int = 2,
    capacity: int = 3,
    urgency: Urgency = Urgency.NORMAL,
) -> World:
    """``needs`` households in ``community``, one need of 1 unit each, one offer of ``org``."""
    await ensure_categories(session)
    w = World()
    county = community[:6]
    for n in range(needs):
        household = await make_household(
            session,
            region_code=community,
            registered_by=demo["caseworker"],
            category=AssistanceCategory.DIBAO,
            flags=("elderly",),
            vulnerability=0.2 + 0.1 * n,
            name=f"测试户{n}",
        )
        w.households.append(household)
        w.needs.append(
            await make_need(
                session,
                household,
                created_by=demo["caseworker"],
                urgency=urgency,
                title=f"测试需求{n}",
                waited_days=3 + n,
                quantity=1,
            )
        )
    w.resources.append(
        await make_resource(
            session,
            organization_id=demo[org],
            created_by=demo["org_admin"],
            capacity=capacity,
            service_area=(county,),
        )
    )
    return w
