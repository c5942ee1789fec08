"""``tongxin seed-scale``: a generated province that the project's own checks accept.

One batch is generated into a fresh database, then the run is resumed to two batches: the first
is skipped, the second added. The result holds needs in every state, personal fields that
decrypt, an audit chain that verifies, and k-anonymity counters equal to a recount. A database
with other users is refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.service import verify
from backend.core import migrate
from backend.core.db import make_engine, make_sessionmaker
from backend.demo import scale
from backend.households import repository as households_repo
from backend.households import service as hs
from backend.households.models import Household
from backend.needs.models import Need, NeedState
from backend.needs.service import profile_input
from backend.privacy.idcard import is_valid_id
from backend.privacy.kanon import Cell, cells
from tests.conftest import _admin_psql, _with_database


async def _grow(url: str, households: int) -> dict[str, int]:
    engine = make_engine(url, pool_size=2)
    try:
        return await scale.seed_scale(make_sessionmaker(engine), households, progress=print)
    finally:
        await engine.dispose()


async def _check(url: str) -> None:
    engine = make_engine(url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as session:
            assert await session.scalar(select(func.count()).select_from(Household)) == 2000
            states = dict(
                (await session.execute(select(Need.state, func.count()).group_by(Need.state))).all()
            )
            assert set(states) == set(NeedState)
            assert 3000 <= sum(states.values()) <= 4500
            household = (await session.scalars(select(Household).limit(1))).one()
            assert is_valid_id(hs._dec("id_number", household.id_number_enc))
            assert hs._dec("head_name", household.head_name_enc)
            result = await verify(session)
            assert result.ok, result.reason
            assert result.checked > 10_000
            expected: Counter[Cell] = Counter()
            for path, ages, flags in await households_repo.population(session, "330000"):
                expected.update(cells(profile_input(path, ages, flags)))
            assert await households_repo.all_kanon_counts(session) == dict(expected)
            public = await session.scalar(
                select(func.count())
                .select_from(Need)
                .where(Need.state == NeedState.PUBLISHED, Need.public_region_code.is_not(None))
            )
            assert public and public > 500
    finally:
        await engine.dispose()


def test_seed_scale_generates_and_resumes(pg_server: str) -> None:
    name = f"tongxin_scale_{uuid.uuid4().hex[:8]}"
    _admin_psql(pg_server, f'CREATE DATABASE "{name}"')
    url = _with_database(pg_server, name)
    try:
        migrate.upgrade(url)
        first = asyncio.run(_grow(url, 1000))
        assert first["batches_written"] == 1
        second = asyncio.run(_grow(url, 1500))  # rounded up to two batches of 1,000
        assert (second["batches_written"], second["batches_skipped"]) == (1, 1)
        assert second["households"] == 2000
        asyncio.run(_check(url))
    finally:
        _admin_psql(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_seed_scale_refuses_a_database_with_real_users(
    runtime: Any, demo: dict[str, Any]
) -> None:
    with pytest.raises(scale.RealDataPresent):
        await scale.seed_scale(runtime.sessionmaker, 1000, progress=print)
