"""Retention: partitions created ahead and dropped, handled events deleted in batches, nothing
pending or failed lost, audit months kept by default and never younger than six months, and
the application's role still unable to change audit rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

import backend.audit.service as audit_service
from backend.audit.checkpoints import RETENTION, drop_old_audit_partitions, latest
from backend.audit.models import AuditEntry
from backend.audit.service import Actor, record, seal, verify
from backend.core.db import utcnow
from backend.outbox.models import ExternalEvent, OutboxEvent, OutboxState
from backend.outbox.retention import (
    drop_handled_outbox_partitions,
    ensure_partitions,
    month_of,
    outbox_status,
    partitions,
    run_retention,
)


def _in(db: Any) -> Any:
    @asynccontextmanager
    async def transaction() -> AsyncIterator[Any]:
        yield db  # the test's rolled-back transaction stands in for each short one

    return transaction


async def _event(db: Any, created: datetime, state: OutboxState, topic: str = "t.x") -> uuid.UUID:
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic=topic,
        aggregate_type="thing",
        aggregate_id=uuid.uuid4(),
        payload={},
        state=state,
        created_at=created,
        last_error="boom" if state == OutboxState.FAILED else "",
    )
    db.add(event)
    await db.flush()
    return event.id


async def _states(db: Any, ids: list[uuid.UUID]) -> list[str]:
    rows = await db.scalars(select(OutboxEvent.state).where(OutboxEvent.id.in_(ids)))
    return sorted(s.value for s in rows)


async def test_partitions_are_created_ahead(db: Any) -> None:
    today = date(2031, 5, 17)
    created = await ensure_partitions(db, today=today)
    assert "outbox_p203105" in created
    assert "audit_log_p203108" in created
    for parent in ("outbox", "audit_log"):
        months = await partitions(db, parent)
        assert [month_of(today, n) for n in range(4)] == [
            m for m in months if m >= today.replace(day=1)
        ][:4]
    assert await ensure_partitions(db, today=today) == []  # idempotent


async def test_handled_events_go_in_batches_and_pending_and_failed_stay(db: Any) -> None:
    now = utcnow()
    old = now - timedelta(days=40)
    handled = [await _event(db, old, OutboxState.DONE) for _ in range(25)]
    kept = [await _event(db, old, OutboxState.PENDING) for _ in range(3)]
    kept += [await _event(db, old, OutboxState.FAILED) for _ in range(2)]
    recent = [await _event(db, now - timedelta(days=5), OutboxState.DONE) for _ in range(4)]
    ext_old = ExternalEvent(
        source="stripe", external_id=uuid.uuid4().hex, event_type="x", payload={}, handled_at=old
    )
    ext_open = ExternalEvent(
        source="stripe", external_id=uuid.uuid4().hex, event_type="x", payload={}
    )
    db.add_all([ext_old, ext_open])
    await db.flush()

    report = await run_retention(
        _in(db), retention_days=30, audit_retention_months=0, now=now, batch=10
    )

    assert report.outbox_deleted >= 25
    assert report.outbox_batches >= 3  # 10 + 10 + 5: never one big statement
    assert await _states(db, handled) == []
    assert await _states(db, kept) == ["failed", "failed", "pending", "pending", "pending"]
    assert len(await _states(db, recent)) == 4
    left = await db.scalars(
        select(ExternalEvent.id).where(ExternalEvent.id.in_([ext_old.id, ext_open.id]))
    )
    assert list(left) == [ext_open.id]
    assert report.audit_dropped == []  # the audit log is kept forever by default

    status = await outbox_status(db)
    listed = {e.id for e in status.stuck}
    assert {str(i) for i in kept} <= listed
    assert status.counts["failed"] >= 2
    assert any("failed" in line and "boom" in line for line in status.lines())


async def test_old_months_are_dropped_whole_unless_something_is_pending(db: Any) -> None:
    now = utcnow()
    clean, busy = month_of(now.date(), -5), month_of(now.date(), -4)
    for month in (clean, busy):
        await db.execute(text("SELECT tongxin_month_partition('outbox', :m)"), {"m": month})
    at = lambda m: datetime(m.year, m.month, 10, tzinfo=now.tzinfo)  # noqa: E731
    done = [await _event(db, at(clean), OutboxState.DONE) for _ in range(3)]
    waiting = await _event(db, at(busy), OutboxState.PENDING)
    await _event(db, at(busy), OutboxState.DONE)

    dropped = await drop_handled_outbox_partitions(db, cutoff=now - timedelta(days=30))

    assert f"outbox_p{clean:%Y%m}" in dropped
    assert f"outbox_p{busy:%Y%m}" not in dropped
    assert clean not in await partitions(db, "outbox")
    assert await _states(db, done) == []
    assert await _states(db, [waiting]) == ["pending"]


async def _old_entries(db: Any, monkeypatch: Any, when: datetime, n: int) -> list[uuid.UUID]:
    monkeypatch.setattr(audit_service, "utcnow", lambda: when)
    ids = []
    for i in range(n):
        entry = await record(
            db, actor=Actor.system(), action="test.old", object_type="thing", object_id=str(i)
        )
        ids.append(entry.id)
    monkeypatch.undo()
    return ids


async def test_audit_months_are_kept_six_months_at_least_and_the_chain_still_verifies(
    db: Any, monkeypatch: Any
) -> None:
    today = utcnow().date()
    ancient, recent = month_of(today, -9), month_of(today, -3)
    for month in (ancient, recent):
        await db.execute(text("SELECT tongxin_month_partition('audit_log', :m)"), {"m": month})
    at = lambda m: datetime(m.year, m.month, 3, tzinfo=utcnow().tzinfo)  # noqa: E731
    old_ids = await _old_entries(db, monkeypatch, at(ancient), 3)
    young_ids = await _old_entries(db, monkeypatch, at(recent), 2)
    await record(db, actor=Actor.system(), action="test.now", object_type="thing", object_id="x")
    await seal(db)

    months = await partitions(db, "audit_log")
    assert await drop_old_audit_partitions(db, keep_months=0, months=months, today=today) == []
    # asking for 2 months still keeps 6: the recent month survives
    dropped = await drop_old_audit_partitions(db, keep_months=2, months=months, today=today)
    assert dropped == [f"audit_log_p{ancient:%Y%m}"]
    left = await db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.id.in_(old_ids + young_ids))
    )
    assert left == 2

    anchor = await latest(db, kind=RETENTION)
    assert anchor is not None
    result = await verify(db, from_seq=anchor.seq + 1, prev_hash=anchor.hash)
    assert result.ok, result

    with pytest.raises(DBAPIError, match="younger than six months"):
        async with db.begin_nested():
            await db.execute(
                text("SELECT tongxin_drop_month_partition('audit_log', :m)"), {"m": recent}
            )


async def test_the_app_role_cannot_change_audit_rows_in_any_partition(db: Any) -> None:
    role = f"tongxin_app_{uuid.uuid4().hex[:8]}"
    # the grants of docs/operations.md
    for sql in (
        f"CREATE ROLE {role} NOLOGIN",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_chain FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    ):
        await db.execute(text(sql))
    future = month_of(utcnow().date(), 7)
    await db.execute(text(f"SET LOCAL ROLE {role}"))
    part = await db.scalar(text("SELECT tongxin_month_partition('audit_log', :m)"), {"m": future})
    await record(db, actor=Actor.system(), action="test.role", object_type="thing", object_id="r")
    current = f"audit_log_p{utcnow():%Y%m}"
    for sql, error in (
        ("DELETE FROM audit_log", "permission denied"),
        ("UPDATE audit_log SET action = 'x'", "permission denied"),
        (f"DELETE FROM {part}", "permission denied"),
        (f"TRUNCATE {part}", "permission denied"),
        (f"DELETE FROM {current}", "append-only"),  # granted before: the trigger still refuses
        (f"TRUNCATE {current}", "append-only|permission denied"),
        (f"DROP TABLE {current}", "must be owner"),
        ("DELETE FROM audit_chain", "permission denied"),
    ):
        with pytest.raises(DBAPIError, match=error):
            async with db.begin_nested():
                await db.execute(text(sql))
    await db.execute(text("RESET ROLE"))
