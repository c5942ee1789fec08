"""Load the demo data into an empty database: regions, accounts, then each domain's part."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.demo.accounts import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from backend.regions.service import import_bundled

Seeder = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

# Each domain's seeder ("module:function"), in dependency order: households and their needs
# first, then the organizations' supply, matching, donations and fulfilment. Each gets the ids
# created so far and adds its own.
SEEDERS: list[str] = [
    "backend.demo.households:seed_households",
    "backend.demo.organizations:seed_organizations",
    "backend.demo.matching:seed_matching",
    "backend.demo.donations:seed_donations",
    "backend.demo.fulfilment:seed_fulfilment",
    "backend.demo.households:seed_demo_code",
]


def _seeder(spec: str) -> Seeder:
    module, _, name = spec.partition(":")
    seeder: Seeder = getattr(importlib.import_module(module), name)
    return seeder


async def database_is_empty(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(User))) == 0


async def seed_demo(session: AsyncSession) -> dict[str, Any]:
    await import_bundled(session)
    ids: dict[str, Any] = dict(await seed_accounts(session))
    for spec in SEEDERS:
        await _seeder(spec)(session, ids)
    # the seeders write rows directly (no outbox events): count the maintained figures once
    # (fairness, match queue, organizations, dashboard)
    from backend.dashboard.figures import rebuild as rebuild_dashboard
    from backend.matches import queue
    from backend.matches.figures import rebuild
    from backend.organizations.figures import rebuild as rebuild_org_figures

    await session.flush()
    await rebuild(session)
    await queue.rebuild(session)
    await rebuild_org_figures(session)
    await rebuild_dashboard(session)
    return ids


async def demo_accounts_present(session: AsyncSession) -> bool:
    """Any of the demo accounts (whose password is published) exists."""
    emails = [user.email for user in DEMO_USERS]
    found = await session.scalar(
        select(func.count()).select_from(User).where(User.email.in_(emails))
    )
    return bool(found)


def demo_logins() -> list[tuple[str, str, str]]:
    return [(user.key, user.email, DEMO_PASSWORD) for user in DEMO_USERS]
