"""Loading one row by its primary key, for every domain's services.

Queries live in ``repository.py`` files (tests/test_layering.py checks it); a load by primary
key is the one query every service needs, so it is written once here instead of in each
domain's repository. Anything with a condition, a join or an order belongs in the domain's own
repository.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def get_by_id(
    session: AsyncSession, model: type[T], key: Any, *, for_update: bool = False
) -> T | None:
    """The row of ``model`` with primary key ``key``, or None; ``for_update`` locks it."""
    return await session.get(model, key, with_for_update=for_update or None)
