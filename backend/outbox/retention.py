"""Keeping the outbox, external events and audit log manageable for years.

- ``outbox`` and ``audit_log`` are partitioned by month (migration audit_0002); partitions are
  created :data:`MONTHS_AHEAD` months ahead, so inserts never wait for DDL.
- Handled outbox events and processed external events older than
  ``settings.outbox_retention_days`` (default 30) are removed: a month partition that is wholly
  older and holds only handled events is dropped at once; the rest goes in batches of
  :data:`BATCH` rows, one short transaction each. Pending and failed events are never removed.
- Audit partitions older than ``settings.audit_retention_months`` are dropped (0 = keep
  forever, the default; never fewer than six months) — see backend/audit/checkpoints.py.

Partitions are created and dropped only through the two SECURITY DEFINER functions of the
migration: the application's role needs no DDL rights. Every DDL step runs with a 2-second
``lock_timeout``: it waits briefly or gives up until the next run, never holding up writes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import utcnow
from backend.outbox.models import ExternalEvent, OutboxEvent, OutboxState

log = logging.getLogger(__name__)

PARTITIONED = ("outbox", "audit_log")
MONTHS_AHEAD = 3
BATCH = 1000
_MONTH = re.compile(r"_p(\d{4})(\d{2})$")


def month_of(day: date, plus: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + plus
    return date(index // 12, index % 12 + 1, 1)


async def partitions(session: AsyncSession, parent: str) -> list[date]:
    """The months that have a partition of ``parent`` (the default partition is not listed)."""
    names = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass) ORDER BY c.relname"
        ),
        {"parent": parent},
    )
    found = [_MONTH.search(name) for name in names]
    return [date(int(m[1]), int(m[2]), 1) for m in found if m]


async def ensure_partitions(
    session: AsyncSession, *, today: date | None = None, ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Create this month's and the next ``ahead`` months' partitions; returns the new ones."""
    today = today or utcnow().date()
    await session.execute(text("SET LOCAL lock_timeout = '2s'"))
    created = []
    for parent in PARTITIONED:
        have = set(await partitions(session, parent))
        for n in range(ahead + 1):
            month = month_of(today, n)
            if month not in have:
                created.append(
                    str(
                        await session.scalar(
                            text("SELECT tongxin_month_partition(:p, :m)"),
                            {"p": parent, "m": month},
                        )
                    )
                )
    return created


async def drop_handled_outbox_partitions(session: AsyncSession, *, cutoff: datetime) -> list[str]:
    """Drop outbox months wholly older than ``cutoff`` that hold handled events only."""
    await session.execute(text("SET LOCAL lock_timeout = '2s'"))
    dropped = []
    for month in await partitions(session, "outbox"):
        upper = month_of(month, 1)
        if datetime(upper.year, upper.month, 1, tzinfo=cutoff.tzinfo) > cutoff:
            continue
        if await session.scalar(
            text("SELECT tongxin_drop_month_partition('outbox', :m)"), {"m": month}
        ):
            dropped.append(f"outbox_p{month:%Y%m}")
    return dropped


async def delete_handled_outbox(
    session: AsyncSession, *, cutoff: datetime, batch: int = BATCH
) -> int:
    """One batch: handled (``done``) events created before ``cutoff``."""
    result = await session.execute(
        text(
            "DELETE FROM outbox WHERE (id, created_at) IN ("
            " SELECT id, created_at FROM outbox WHERE state = 'done' AND created_at < :cutoff"
            " LIMIT :batch)"
        ),
        {"cutoff": cutoff, "batch": batch},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_processed_external(
    session: AsyncSession, *, cutoff: datetime, batch: int = BATCH
) -> int:
    """One batch: external (webhook) events applied before ``cutoff``."""
    result = await session.execute(
        text(
            "DELETE FROM external_events WHERE id IN ("
            " SELECT id FROM external_events WHERE handled_at IS NOT NULL AND handled_at < :cutoff"
            " LIMIT :batch)"
        ),
        {"cutoff": cutoff, "batch": batch},
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class RetentionReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    outbox_deleted: int = 0
    outbox_batches: int = 0
    external_deleted: int = 0
    audit_dropped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"partitions created {len(self.created)}, outbox partitions dropped "
            f"{len(self.dropped)}, handled outbox events deleted {self.outbox_deleted} in "
            f"{self.outbox_batches} batches, external events deleted {self.external_deleted}, "
            f"audit partitions dropped {len(self.audit_dropped)}"
        )


async def run_retention(
    transaction: Any,
    *,
    retention_days: int,
    audit_retention_months: int,
    now: datetime | None = None,
    batch: int = BATCH,
) -> RetentionReport:
    """Every step in its own short transaction (``transaction()`` is an async context manager
    yielding a session that commits, such as ``Runtime.transaction``)."""
    from backend.audit.checkpoints import drop_old_audit_partitions

    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    report = RetentionReport()
    async with transaction() as session:
        report.created = await ensure_partitions(session, today=now.date())
    async with transaction() as session:
        report.dropped = await drop_handled_outbox_partitions(session, cutoff=cutoff)
    while True:
        async with transaction() as session:
            deleted = await delete_handled_outbox(session, cutoff=cutoff, batch=batch)
        if deleted:
            report.outbox_deleted += deleted
            report.outbox_batches += 1
        if deleted < batch:
            break
    while True:
        async with transaction() as session:
            deleted = await delete_processed_external(session, cutoff=cutoff, batch=batch)
        report.external_deleted += deleted
        if deleted < batch:
            break
    async with transaction() as session:
        report.audit_dropped = await drop_old_audit_partitions(
            session,
            keep_months=audit_retention_months,
            months=await partitions(session, "audit_log"),
            today=now.date(),
        )
    log.info("retention: %s", report.summary())
    return report


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class StuckEvent:
    id: str
    topic: str
    state: str
    created_at: datetime
    attempts: int
    last_error: str


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]
    oldest_pending: datetime | None
    stuck: list[StuckEvent]
    external_unhandled: int
    partitions: dict[str, list[date]]

    def lines(self) -> list[str]:
        out = [
            "outbox: "
            + ", ".join(f"{state} {self.counts.get(state, 0)}" for state in OutboxState)
            + (
                f"; oldest pending since {self.oldest_pending:%Y-%m-%d %H:%M} UTC"
                if self.oldest_pending
                else ""
            )
            + f"; external events not applied {self.external_unhandled}"
        ]
        for event in self.stuck:
            error = event.last_error.splitlines()[0][:120] if event.last_error else ""
            out.append(
                f"  {event.state:<7} {event.created_at:%Y-%m-%d %H:%M} {event.topic:<32} "
                f"attempts {event.attempts} {event.id} {error}"
            )
        for parent, months in self.partitions.items():
            span = f"{months[0]:%Y-%m} … {months[-1]:%Y-%m}" if months else "none"
            out.append(f"partitions of {parent}: {len(months)} months ({span})")
        return out


async def outbox_status(session: AsyncSession, *, limit: int = 20) -> OutboxStatus:
    """Counts by state, and the pending and failed events (oldest first) an operator must see."""
    counts = {
        str(state): int(n)
        for state, n in await session.execute(
            select(OutboxEvent.state, func.count()).group_by(OutboxEvent.state)
        )
    }
    oldest = await session.scalar(
        select(func.min(OutboxEvent.created_at)).where(OutboxEvent.state == OutboxState.PENDING)
    )
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.state.in_([OutboxState.PENDING, OutboxState.FAILED]))
        .order_by(OutboxEvent.created_at)
        .limit(limit)
    )
    stuck = [
        StuckEvent(str(e.id), e.topic, e.state.value, e.created_at, e.attempts, e.last_error)
        for e in rows
    ]
    unhandled = await session.scalar(
        select(func.count()).select_from(ExternalEvent).where(ExternalEvent.handled_at.is_(None))
    )
    parts = {p: await partitions(session, p) for p in PARTITIONED}
    return OutboxStatus(counts, oldest, stuck, int(unhandled or 0), parts)
