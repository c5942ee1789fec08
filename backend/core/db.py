"""Database plumbing: declarative base, common columns, engine and sessions.

Services flush and never commit; :func:`unit_of_work` (used by the request scope, the CLI and
the jobs) commits once and then relays the outbox events written in that transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:
    from backend.core.queue import JobQueue

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012 - SQLAlchemy API


class UUIDPrimaryKey:
    """Random public ids: never sequential."""

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), default=utcnow, onupdate=utcnow
    )


def asyncpg_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and use the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("only PostgreSQL URLs are supported")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


class AppSession(AsyncSession):
    """The session every process opens: an AsyncSession that carries the process's job queue,
    for work enqueued after commit (the outbox relay, matching runs) and Redis-backed limits."""

    def __init__(self, *args: Any, queue: JobQueue | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = queue


def queue_of(session: AsyncSession) -> JobQueue | None:
    """The job queue of an app session (None for a bare session: nothing is enqueued)."""
    return session.queue if isinstance(session, AppSession) else None


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AppSession]:
    return async_sessionmaker(engine, class_=AppSession, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[AsyncSession], Awaitable[None]]


def add_after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once this session's transaction has committed (dropped on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback(session)


S = TypeVar("S", bound=AsyncSession)


@asynccontextmanager
async def unit_of_work(sessionmaker: async_sessionmaker[S]) -> AsyncIterator[S]:
    """One transaction: commit on success, roll back on error, then run after-commit work."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            raise
        await run_after_commit(session)
