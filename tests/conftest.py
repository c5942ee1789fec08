"""Test session: real PostgreSQL and Redis, a fresh database built by the migrations.

``TONGXIN_TEST_DATABASE_URL`` / ``TONGXIN_TEST_REDIS_URL`` name servers to use (CI sets them);
otherwise the session starts embedded ones itself and stops them at the end. An unreachable
server fails the run: nothing is skipped silently.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

_VAR = Path(tempfile.mkdtemp(prefix="tongxin-test-var-"))
os.environ["TONGXIN_VAR_DIR"] = str(_VAR)
os.environ["TONGXIN_ENV"] = "test"
# tests write rows directly (factories, no outbox events): the public page cache is off except
# in tests/web/test_public_cache.py, which turns it on for its own app
os.environ["TONGXIN_PUBLIC_CACHE_SECONDS"] = "0"
os.environ.setdefault("XDG_RUNTIME_DIR", str(_VAR / "run"))
(_VAR / "run").mkdir(mode=0o700, exist_ok=True)
for _name in ("TONGXIN_DATABASE_URL", "TONGXIN_REDIS_URL", "TONGXIN_SEARCH_ENGINE"):
    os.environ.pop(_name, None)

from backend.config import get_settings  # noqa: E402

get_settings.cache_clear()

ROOT = Path(__file__).resolve().parents[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_psql(server_url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_with_database(server_url, "postgres").replace("+asyncpg", ""))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    url = os.environ.get("TONGXIN_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from backend.core.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(_VAR / "postgres", database="postgres")
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """A fresh database for this test session, built by the Alembic migrations."""
    from backend.core import migrate

    name = f"tongxin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        _admin_psql(pg_server, f'CREATE DATABASE "{name}"')
    except Exception as exc:
        pytest.exit(f"PostgreSQL at {pg_server!r} is unreachable: {exc}", returncode=3)
    url = _with_database(pg_server, name)
    migrate.upgrade(url)
    yield url
    _admin_psql(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("TONGXIN_TEST_REDIS_URL")
    embedded = None
    if not url:
        from backend.core.embedded import EmbeddedRedis

        embedded = EmbeddedRedis(_VAR / "redis")
        url = embedded.start()
    import redis as redis_sync

    from backend.core.queue import redis_settings

    rs = redis_settings(url)
    try:
        client = redis_sync.Redis(
            host=rs.host, port=rs.port, unix_socket_path=rs.unix_socket_path, db=rs.database
        )
        client.ping()
        client.close()
    except Exception as exc:
        pytest.exit(f"Redis at {url!r} is unreachable: {exc}", returncode=3)
    yield url
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def queue_name() -> str:
    return f"tongxin:test:{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def runtime(database_url: str, redis_url: str, queue_name: str) -> AsyncIterator[Any]:
    from backend.core.runtime import Runtime

    rt = await Runtime.start(
        get_settings(), database_url=database_url, redis_url=redis_url, queue_name=queue_name
    )
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
async def demo(runtime: Any) -> dict[str, Any]:
    """The demo data, loaded once per session (committed)."""
    from backend.demo.seed import seed_demo

    async with runtime.transaction() as session:
        return await seed_demo(session)


@pytest.fixture(scope="session")
def demo_users() -> dict[str, tuple[str, str]]:
    from backend.demo.accounts import DEMO_PASSWORD, DEMO_USERS

    return {u.key: (u.email, DEMO_PASSWORD) for u in DEMO_USERS}


@pytest.fixture
async def db(runtime: Any) -> AsyncIterator[Any]:
    """A session inside a transaction that is rolled back after the test."""
    from backend.core.db import AppSession

    async with runtime.engine.connect() as conn:
        trans = await conn.begin()
        session = AppSession(
            bind=conn,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
            queue=runtime.queue,
        )
        try:
            yield session
        finally:
            await session.close()
            await trans.rollback()


@pytest.fixture(scope="session")
async def app(database_url: str, redis_url: str, queue_name: str, demo: dict[str, Any]) -> Any:
    """The app without its worker (tests run jobs with ``helpers.drain_outbox``).

    The test client serves it from its own event loop, so the app builds its own Runtime in
    its lifespan; tests reach the same database and Redis through the ``runtime`` fixture.
    """
    from backend.app import create_app

    return create_app(
        get_settings(),
        database_url=database_url,
        redis_url=redis_url,
        queue_name=queue_name,
        start_worker=False,
    )


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(database_url: str, redis_url: str, demo: dict[str, Any]) -> Iterator[str]:
    """The real app under uvicorn in a subprocess, with its in-process worker."""
    port = _free_port()
    env = {
        **os.environ,
        "TONGXIN_DATABASE_URL": database_url,
        "TONGXIN_REDIS_URL": redis_url,
        "TONGXIN_PORT": str(port),
        "TONGXIN_LOAD_DEMO_DATA": "false",
        "TONGXIN_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(x.decode(errors="replace") for x in proc.stdout or []),
        daemon=True,
    ).start()
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the app did not start:\n" + "".join(lines[-50:]))
        time.sleep(0.3)
    yield base
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The page-quality crawl (tests/web/test_page_quality.py) reads every page as the demo
    data shows it, so it runs first: later tests add rows of their own to the shared database
    (organizations named "A hours d010a0", projects "测试项目 aacecc") that are test data, not the
    app's words, and would otherwise show up in its findings."""
    crawl = "tests/web/test_page_quality.py::"
    items[:] = [i for i in items if i.nodeid.startswith(crawl)] + [
        i for i in items if not i.nodeid.startswith(crawl)
    ]
