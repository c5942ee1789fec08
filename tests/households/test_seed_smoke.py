"""The demo seed loads households and needs in every state, fast."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.households.models import Household
from backend.needs.models import Need, NeedState


async def test_demo_has_households_and_needs_in_every_state(
    runtime: Any, demo: dict[str, Any]
) -> None:
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Household)) >= 60
        states = dict(
            (await session.execute(select(Need.state, func.count()).group_by(Need.state))).all()
        )
    assert set(states) == set(NeedState)
    # at least the demo's ~100 needs (tests that ran before in this session may have added more)
    assert sum(states.values()) >= 90
