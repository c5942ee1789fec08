"""Every ``tongxin`` command, run as the operator runs it, on a database with data.

The module builds its own database with the CLI itself (``db upgrade``, ``seed-demo``), then
adds a few thousand generated rows: published needs copied from the demo's (fast SQL) and
audit rows written through the audit service (the HMAC chain). Each command must exit 0 with a
one-line summary, or non-zero with a one-line message and no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from backend.config import get_settings
from backend.core.embedded import EmbeddedRedis
from backend.core.keys import get_keys
from tests.cli_support import (
    Process,
    cli_env,
    fails,
    free_port,
    fresh_database,
    ok,
    tongxin,
    var_dir_with_keys,
)

COPIES = 60  # each published demo need copied this many times (the demo has 42 → ~2,500)
AUDIT_ROWS = 3000


@dataclass
class CLI:
    url: str
    env: dict[str, str]
    var_dir: Path
    upgrade: subprocess.CompletedProcess[str]
    seed: subprocess.CompletedProcess[str]
    needs: int
    audit_rows: int

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tongxin(self.env, *args)

    def scalar(self, sql: str) -> int:
        return asyncio.run(_scalar(self.url, sql))


async def _scalar(url: str, sql: str) -> int:
    from backend.core.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return int((await conn.execute(text(sql))).scalar() or 0)
    finally:
        await engine.dispose()


async def _listed_needs(url: str) -> int:
    """The needs the search projection lists (its own condition, counted in SQL)."""
    from sqlalchemy import func, select

    from backend.core.db import make_engine
    from backend.needs.models import Need
    from backend.search.repository import public_need_condition

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            query = select(func.count()).select_from(Need).where(public_need_condition())
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def _generate(url: str) -> tuple[int, int]:
    """A few thousand rows: needs by SQL (every column copied), audit rows by the service."""
    from backend.audit.service import Actor, record
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            columns = [
                row[0]
                for row in await session.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'needs' AND is_generated = 'NEVER' AND column_name "
                        "NOT IN ('id', 'created_at', 'updated_at') ORDER BY ordinal_position"
                    )
                )
            ]
            names = ", ".join(columns)
            inserted = await session.execute(
                text(
                    f"INSERT INTO needs (id, {names}) "
                    f"SELECT gen_random_uuid(), {names} FROM needs, generate_series(1, :n) "
                    "WHERE state = 'published'"
                ),
                {"n": COPIES},
            )
            for i in range(AUDIT_ROWS):
                await record(
                    session,
                    actor=Actor.system(),
                    action="test.generated",
                    object_type="test",
                    object_id=uuid.uuid4(),
                    detail={"i": i},
                )
            return int(inserted.rowcount or 0), AUDIT_ROWS  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def cli(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CLI]:
    get_keys()  # the session's key files exist: the CLI gets copies of them
    var_dir = var_dir_with_keys(tmp_path_factory.mktemp("cli") / "var", get_settings().var_dir)
    name = f"tongxin_cli_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    # A Redis of its own: the worker's queue name is fixed, and the session's live server
    # (conftest.live_server) runs a worker on that queue against another database.
    redis = EmbeddedRedis(var_dir.parent / "redis")
    redis_url = redis.start()
    with contextlib.ExitStack() as stack:
        stack.callback(redis.stop)
        url = stack.enter_context(fresh_database(pg_server, name))
        env = cli_env(var_dir, database_url=url, redis_url=redis_url, worker_in_process="false")
        upgrade = tongxin(env, "db", "upgrade")
        seed = tongxin(env, "seed-demo")
        ok(upgrade)
        ok(seed)
        needs, audit_rows = asyncio.run(_generate(url))
        yield CLI(url, env, var_dir, upgrade, seed, needs, audit_rows)


def test_db_upgrade_and_seed_demo_on_a_new_database(cli: CLI) -> None:
    assert ok(cli.upgrade) == "db upgrade: done"
    assert "demo data loaded" in cli.seed.stdout
    assert "serving" not in cli.seed.stdout  # seed-demo serves nothing
    assert cli.needs >= 2000
    assert ok(cli("seed-demo")) == "the database is not empty; demo data not loaded"
    assert ok(cli("db", "upgrade")) == "db upgrade: done"  # nothing left to apply


def test_db_downgrade_check_and_upgrade_on_data(cli: CLI) -> None:
    assert ok(cli("db", "check")) == "db check: done"
    assert ok(cli("db", "downgrade")) == "db downgrade: done"  # one revision
    assert fails(cli("db", "check"), 2) == "tongxin db: Target database is not up to date."
    assert ok(cli("db", "upgrade")) == "db upgrade: done"
    assert ok(cli("db", "check")) == "db check: done"
    assert cli.scalar("SELECT count(*) FROM needs") >= cli.needs  # the data survived


def test_reindex(cli: CLI) -> None:
    result = cli("reindex")
    summary = ok(result)
    found = re.fullmatch(r"reindex: (\d+) documents in [\d.]+s \(tantivy\)", summary)
    assert found, summary
    progress = re.findall(r"^  need\s+(\d+) documents$", result.stdout, re.MULTILINE)
    assert progress, result.stdout
    listed = asyncio.run(_listed_needs(cli.url))
    assert int(progress[-1]) == listed > cli.needs // 2  # the generated needs are indexed
    assert int(found.group(1)) > listed


def test_match_one_county_saves_proposals(cli: CLI) -> None:
    summary = ok(cli("match", "--county", "330106"))
    found = re.fullmatch(r"matching: (\d+) proposals for (\d+) needs in 1 county", summary)
    assert found, summary
    assert int(found.group(2)) >= 1000  # the generated needs are in the run
    assert int(found.group(1)) > 0
    saved = cli.scalar(
        "SELECT count(*) FROM matches WHERE state = 'proposed' AND run_id = "
        "(SELECT id FROM matching_runs WHERE county_code = '330106' AND state = 'done' "
        "ORDER BY finished_at DESC LIMIT 1)"
    )
    assert saved == int(found.group(1))  # the proposals were stored (the bug: they crashed)
    requested = cli.scalar("SELECT count(*) FROM audit_log WHERE action = 'matching_run.requested'")
    assert requested >= 1  # the CLI's run is audited like a coordinator's


def test_match_all_counties(cli: CLI) -> None:
    result = cli("match", "--all")
    summary = ok(result)
    found = re.fullmatch(r"matching: (\d+) proposals for (\d+) needs in (\d+) counties", summary)
    assert found, summary
    counties = int(found.group(3))
    assert counties >= 2
    county_lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(county_lines) == counties
    assert any(line.startswith("  330106: ") for line in county_lines)


def test_match_refuses_an_unknown_county(cli: CLI) -> None:
    assert fails(cli("match", "--county", "999999"), 2) == (
        "tongxin match: 999999 is not a county code"
    )


def test_verify_audit_on_thousands_of_rows_and_a_broken_row(cli: CLI) -> None:
    total = cli.scalar("SELECT count(*) FROM audit_log")  # verify-audit seals them all first
    assert total >= cli.audit_rows
    assert ok(cli("verify-audit", "--full")).startswith(f"audit log intact: {total} rows verified")
    middle = total // 2
    tamper = (
        "ALTER TABLE audit_log DISABLE TRIGGER USER; "
        "UPDATE audit_log SET action = 'test.altered' "
        f"WHERE id = (SELECT entry_id FROM audit_chain WHERE seq = {middle}); "
        "ALTER TABLE audit_log ENABLE TRIGGER USER"
    )
    asyncio.run(_execute(cli.url, tamper))
    try:
        # the altered row lies before the checkpoint the first run recorded: --full finds it
        broken = cli("verify-audit", "--full")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "Traceback" not in broken.stderr
        assert f"audit log BROKEN at row {middle}" in broken.stdout
    finally:
        asyncio.run(_execute(cli.url, tamper.replace("'test.altered'", "'test.generated'")))
    assert ok(cli("verify-audit", "--full")).startswith("audit log intact")


async def _execute(url: str, sql: str) -> None:
    from backend.core.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for statement in sql.split("; "):
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def test_worker_processes_an_outbox_event_and_stops(cli: CLI) -> None:
    # `match` wrote a match.run_done event; the CLI has no job queue, so it is still pending
    event = cli.scalar(
        "SELECT count(*) FROM outbox WHERE topic = 'match.run_done' AND state = 'pending'"
    )
    assert event >= 1
    env = {**cli.env, "TONGXIN_OUTBOX_SWEEP_AFTER_SECONDS": "0"}
    worker = Process(env, "worker")
    try:
        deadline = asyncio.run(_wait_done(cli.url, timeout=60))
        assert deadline, "the worker processed no event:\n" + worker.output[-3000:]
    finally:
        code = worker.stop()
    assert code == 0, worker.output[-3000:]
    assert worker.output.rstrip().splitlines()[-1] == "Stopped."
    assert "Traceback" not in worker.output


async def _wait_done(url: str, *, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        pending = await _scalar(
            url,
            "SELECT count(*) FROM outbox WHERE topic = 'match.run_done' AND state = 'pending'",
        )
        if pending == 0:
            return True
        await asyncio.sleep(0.5)
    return False


def test_worker_without_urls_says_what_it_needs(cli: CLI) -> None:
    env = {k: v for k, v in cli.env.items() if k != "TONGXIN_REDIS_URL"}
    result = tongxin(env, "worker")
    assert result.returncode == 2
    assert "TONGXIN_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_serves_healthz_and_stops_on_sigterm(cli: CLI) -> None:
    port = free_port()
    app = Process({**cli.env, "TONGXIN_LOAD_DEMO_DATA": "false"}, "run", "--port", str(port))
    try:
        response = app.wait_http(f"http://127.0.0.1:{port}/healthz")
        assert response.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        code = app.stop()
    assert code == 0, app.output[-3000:]
    assert app.output.rstrip().splitlines()[-1] == "Stopped."
    assert "Traceback" not in app.output


def test_commands_name_an_unreachable_database(cli: CLI) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    env = {**cli.env, "TONGXIN_DATABASE_URL": closed}
    for args in (("db", "upgrade"), ("match", "--all"), ("verify-audit",), ("backup", "x")):
        message = fails(tongxin(env, *args), 3)
        assert message.startswith(f"tongxin {args[0]}: cannot connect"), message
