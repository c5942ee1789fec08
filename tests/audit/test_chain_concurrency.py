"""Real concurrency on the audit chain: claims, consent withdrawals and door confirmations race
on the same households over real connections, committed like requests. PostgreSQL's own
deadlock counter for the database stays at zero and the chain verifies.

It runs in a database of its own (migrated, demo data), so the counter is this test's alone.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.audit.service import seal_all, verify
from backend.households import service as households
from tests.conftest import _admin_psql, _with_database

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks import writes

SECONDS = float(os.environ.get("TONGXIN_CHAIN_TEST_SECONDS", "8"))


@pytest.fixture(scope="module")
async def own_runtime(pg_server: str, redis_url: str) -> AsyncIterator[tuple[Any, Any]]:
    from backend.config import get_settings
    from backend.core import migrate
    from backend.core.runtime import Runtime
    from backend.demo.seed import seed_demo

    name = f"tongxin_chain_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(_admin_psql, pg_server, f'CREATE DATABASE "{name}"')
    url = _with_database(pg_server, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        rt = await Runtime.start(
            get_settings(), database_url=url, redis_url=redis_url, queue_name=f"chain:{name}"
        )
        try:
            async with rt.transaction() as session:
                ids = await seed_demo(session)
            yield rt, ids
        finally:
            await rt.close()
    finally:
        await asyncio.to_thread(
            _admin_psql, pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


async def test_claims_withdrawals_and_door_confirmations_never_deadlock(
    own_runtime: tuple[Any, Any],
) -> None:
    rt, ids = own_runtime
    pool = await writes.build_pool(rt, ids, households=24, deliveries_each=6)
    async with rt.transaction() as session:
        for household in pool.households:
            issued = await households.issue_code(session, pool.caseworker, household)
            pool.codes[household] = (issued.code, issued.pin)
    pool.to_withdraw = list(pool.households)
    before = await writes.deadlock_count(rt)

    mix = (
        writes.op_claim,
        writes.op_confirm,
        writes.op_withdraw,
        writes.op_claim,
        writes.op_door,
        writes.op_confirm,
        writes.op_claim,
        writes.op_reveal,
    )
    run = await writes.run_mix(rt, pool, clients=12, seconds=SECONDS, ops=mix)
    await asyncio.sleep(1.5)  # PostgreSQL flushes its statistics about once a second
    deadlocks = await writes.deadlock_count(rt) - before

    print(
        f"\nchain concurrency: {run.committed} audited transactions in {run.seconds:.1f} s"
        f" = {run.tput:.1f}/s with {run.clients} clients (p50 {run.p50_ms():.0f} ms,"
        f" p95 {run.p95_ms():.0f} ms); done {dict(run.done)}; refused {dict(run.refused)};"
        f" sealed while running {run.sealed}; deadlocks {deadlocks}"
    )
    assert run.errors == []
    assert deadlocks == 0
    assert run.deadlocks == 0
    for kind in ("claim", "withdraw", "confirm", "door"):
        assert run.done[kind] > 0, kind

    async with rt.transaction() as session:
        await seal_all(session)
    async with rt.sessionmaker() as session:
        verdict = await verify(session)
    assert verdict.ok, verdict
    assert verdict.checked >= run.committed
