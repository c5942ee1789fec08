"""What the app, the CLI and the worker share at run time: engine, sessions, job queue, and the
outside providers, each under its own typed attribute of ``Runtime.services``.

Handlers reach the runtime as ``state.runtime`` (the app's state) and jobs as
``jobs.context.runtime(ctx)``; services receive what they need as arguments. The job queue
travels with the database session (``backend.core.db.queue_of``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from backend.config import Settings
from backend.core.db import AppSession, make_engine, unit_of_work
from backend.core.queue import JobQueue
from backend.core.ratelimit import Lockout
from backend.core.sessions import SessionStore

if TYPE_CHECKING:
    from litestar.datastructures import State

    from backend.core.storage import Storage
    from backend.integrations.mail import Mailer
    from backend.integrations.oidc import OIDCRegistry
    from backend.integrations.sms import SMSSender
    from backend.integrations.stripe import PaymentProvider
    from backend.search.engine import SearchEngine
    from backend.web.cache import PublicCache


@dataclass
class Services:
    """Built once per process. ``backend.wiring.start_services`` fills the optional ones;
    tests replace any of them with a fake by assigning the attribute."""

    sessions: SessionStore
    login_lockout: Lockout
    search: SearchEngine | None = None
    uploads: Storage | None = None  # photos and receipts; None until started
    payments: PaymentProvider | None = None  # built on first use (backend.donations.tasks)
    oidc: OIDCRegistry | None = None
    mailer: Mailer | None = None  # e-mail (SMTP, or the development mailbox)
    sms: SMSSender | None = None  # SMS (Aliyun, or the development outbox)
    public_cache: PublicCache | None = None  # anonymous public pages (backend/web/cache.py)


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AppSession]
    queue: JobQueue
    services: Services

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        database_url: str,
        redis_url: str,
        queue_name: str | None = None,
    ) -> Runtime:
        engine = make_engine(database_url, pool_size=settings.db_pool_size)
        queue = await JobQueue.connect(redis_url, queue_name=queue_name or settings.queue_name)
        sessionmaker = async_sessionmaker(
            engine, class_=AppSession, expire_on_commit=False, autoflush=False, queue=queue
        )
        services = Services(
            sessions=SessionStore(
                queue.pool,
                idle_seconds=settings.session_idle_minutes * 60,
                absolute_seconds=settings.session_absolute_hours * 3600,
            ),
            login_lockout=Lockout(
                queue.pool,
                "signin",
                max_failures=settings.login_max_failures,
                window=settings.login_window_minutes * 60,
                lock=settings.login_lockout_minutes * 60,
            ),
        )
        runtime = cls(settings, database_url, redis_url, engine, sessionmaker, queue, services)
        from backend.wiring import start_services

        await start_services(runtime)
        return runtime

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AppSession]:
        async with unit_of_work(self.sessionmaker) as session:
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AppSession]:
        """A session for reads outside any transaction (autocommit: no BEGIN and ROLLBACK
        round trips), such as resolving the signed-in user on every request. Never write with it."""
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            async with self.sessionmaker(bind=conn) as session:
                yield session

    async def close(self) -> None:
        from backend.wiring import stop_services

        await stop_services(self)
        await self.queue.close()
        await self.engine.dispose()


def runtime_of(state: State) -> Runtime:
    """The app's Runtime (``app.state.runtime``, set in the lifespan), typed."""
    runtime = state.runtime
    assert isinstance(runtime, Runtime), "the app's lifespan has not started the Runtime"
    return runtime
