"""Load the demo data into an empty database: regions, accounts, then each domain's part."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.demo.accounts import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from backend.demo.fulfilment import seed_fulfilment
from backend.demo.households import seed_households
from backend.regions.service import import_bundled

# Later domains append (name, seeder); each gets the ids created so far and adds its own.
Seeder = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
SEEDERS: list[tuple[str, Seeder]] = []
SEEDERS.append(("households", seed_households))
SEEDERS.append(("fulfilment", seed_fulfilment))


async def database_is_empty(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(User))) == 0


async def seed_demo(session: AsyncSession) -> dict[str, Any]:
    await import_bundled(session)
    ids: dict[str, Any] = dict(await seed_accounts(session))
    for _name, seeder in SEEDERS:
        await seeder(session, ids)
    return ids


def demo_logins() -> list[tuple[str, str, str]]:
    return [(user.key, user.email, DEMO_PASSWORD) for user in DEMO_USERS]

