"""Load the demo data into an empty database: regions, accounts, then each domain's part."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Seeder = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

# Each domain's seeder ("module:function"), in dependency order: households and their needs
# first, then the organizations' supply, matching, donations and fulfilment. Each gets the ids
# created so far and adds its own.
SEEDERS: list[str] = [
    "backend.demo.households:seed_households",
    "backend.demo.organizations:seed_organizations",
    "backend.demo.matching:seed_matching",
    "backend.demo.donations:seed_donations",
]


def _seeder(spec: str) -> Seeder:
    module, _, name = spec.partition(":")
    seeder: Seeder = getattr(importlib.import_module(module), name)
    return seeder
