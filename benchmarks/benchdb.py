"""Shared by the scale benchmarks: one generated database per size, the app, statement counts.

A size N uses the database ``<prefix><N>`` (``TONGXIN_BENCH_DB_PREFIX``, default
``tongxin_scale_``) on ``TONGXIN_BENCH_SERVER`` (default ``postgresql://postgres@127.0.0.1:5432``), created and grown with ``tongxin seed-scale`` when
missing (resumable; an existing one is reused). ``TONGXIN_BENCH_REDIS_URL`` names the Redis
(default ``redis://127.0.0.1:6379/15``). Keep one ``TONGXIN_VAR_DIR`` for seeding and measuring:
the personal fields were encrypted with its keys.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("TONGXIN_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("TONGXIN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
PREFIX = os.environ.get("TONGXIN_BENCH_DB_PREFIX", "tongxin_scale_")


def database_url(households: int) -> str:
    return f"{SERVER}/{PREFIX}{households}"


async def _exists(name: str) -> bool:
    conn = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def _create(name: str) -> None:
    conn = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def ensure(households: int) -> str:
    """The URL of a database with ``households`` generated households (seeded if needed)."""
    name = f"{PREFIX}{households}"
    url = database_url(households)
    if not asyncio.run(_exists(name)):
        asyncio.run(_create(name))
    env = {**os.environ, "TONGXIN_DATABASE_URL": url, "TONGXIN_LOG_LEVEL": "WARNING"}
    print(f"seed-scale --households {households} into {name} (resumes; skips what exists)")
    subprocess.run(  # noqa: S603 - our own CLI, arguments are integers
        [sys.executable, "-m", "backend.cli", "seed-scale", "--households", str(households)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return url


class StatementCounter:
    """Counts SQL statements sent by every engine of this process."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1

    @contextmanager
    def measure(self) -> Iterator[list[int]]:
        box: list[int] = []
        before = self.count
        yield box
        box.append(self.count - before)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
