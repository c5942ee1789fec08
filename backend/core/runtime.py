"""What the app, the CLI and the worker share at run time: engine, sessions, job queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.core.db import make_engine, unit_of_work
from backend.core.queue import QUEUE_NAME, JobQueue
from backend.core.ratelimit import Lockout
from backend.core.sessions import SessionStore


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    queue: JobQueue
    services: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def start(
        cls, settings: Settings, *, database_url: str, redis_url: str, queue_name: str = QUEUE_NAME
    ) -> Runtime:
        engine = make_engine(database_url, pool_size=settings.db_pool_size)
        queue = await JobQueue.connect(redis_url, queue_name=queue_name)
        sessionmaker = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, info={"queue": queue}
        )
        runtime = cls(settings, database_url, redis_url, engine, sessionmaker, queue)
        runtime.services["sessions"] = SessionStore(
            queue.pool,
            idle_seconds=settings.session_idle_minutes * 60,
            absolute_seconds=settings.session_absolute_hours * 3600,
        )
        runtime.services["login_lockout"] = Lockout(
            queue.pool,
            "signin",
            max_failures=settings.login_max_failures,
            window=settings.login_window_minutes * 60,
            lock=settings.login_lockout_minutes * 60,
        )
        import backend.wiring  # noqa: F401 - providers and outbox subscribers of every domain
        from backend.core.services import start_services

        await start_services(runtime)
        return runtime

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with unit_of_work(self.sessionmaker) as session:
            session.info["services"] = self.services
            yield session

    async def close(self) -> None:
        from backend.core.services import stop_services

        await stop_services(self)
        await self.queue.close()
        await self.engine.dispose()
