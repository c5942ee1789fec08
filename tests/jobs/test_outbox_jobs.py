"""Outbox → arq: enqueued after commit only, processed exactly once, even across a worker crash."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.core.events import HandlerContext, subscribe, unsubscribe
from backend.outbox.models import Notification, OutboxEvent, OutboxState
from backend.outbox.service import emit
from jobs.tasks.outbox import process_outbox, sweep_outbox

ROOT = Path(__file__).resolve().parents[2]


async def _job_queued(runtime: Any, job_id: str) -> bool:
    return bool(await runtime.queue.pool.exists(f"arq:job:{job_id}"))


async def test_enqueued_after_commit_with_outbox_id_as_job_id(runtime: Any) -> None:
    async with runtime.transaction() as session:
        event = await emit(
            session, topic="test.noop", aggregate_type="thing", aggregate_id=uuid.uuid4()
        )
        await session.flush()
        assert not await _job_queued(runtime, str(event.id)), "nothing is enqueued before commit"
    assert await _job_queued(runtime, str(event.id))


async def test_rollback_drops_the_event(runtime: Any) -> None:
    event_id = None
    with pytest.raises(RuntimeError):
        async with runtime.transaction() as session:
            event = await emit(
                session, topic="test.noop", aggregate_type="thing", aggregate_id=uuid.uuid4()
            )
            event_id = event.id
            raise RuntimeError("boom")
    assert event_id is not None
    assert not await _job_queued(runtime, str(event_id))
    async with runtime.sessionmaker() as session:
        assert await session.get(OutboxEvent, event_id) is None


def test_payload_must_not_carry_free_text() -> None:
    from backend.outbox.service import _check_payload

    _check_payload({"need_id": str(uuid.uuid4()), "state": "published", "n": 3})
    with pytest.raises(ValueError, match="must be an id"):
        _check_payload(
            {"note": "张三 住在 文三路 123 号，电话 13812345678，需要帮助的具体情况如下"}
        )
    with pytest.raises(ValueError, match="must be an id"):
        _check_payload({"nested": {"name": "x"}})


async def test_processing_twice_has_one_effect(runtime: Any) -> None:
    calls: list[uuid.UUID] = []

    async def handler(hctx: HandlerContext, event: OutboxEvent) -> None:
        calls.append(event.id)
        hctx.session.add(Notification(event_id=event.id, kind="test.once", params={}))

    subscribe("test.once")(handler)
    try:
        async with runtime.transaction() as session:
            event = await emit(
                session, topic="test.once", aggregate_type="thing", aggregate_id=uuid.uuid4()
            )
        ctx = {"runtime": runtime}
        assert await process_outbox(ctx, str(event.id)) == "done"
        assert await process_outbox(ctx, str(event.id)) == "skipped"
        assert calls == [event.id]
        async with runtime.sessionmaker() as session:
            row = await session.get(OutboxEvent, event.id)
            assert row is not None and row.state == OutboxState.DONE
    finally:
        unsubscribe("test.once", handler)


async def test_failed_handler_rolls_back_and_records_error(runtime: Any) -> None:
    async def failing(hctx: HandlerContext, event: OutboxEvent) -> None:
        hctx.session.add(Notification(event_id=event.id, kind="test.fail", params={}))
        raise ValueError("downstream unavailable")

    subscribe("test.fail")(failing)
    try:
        async with runtime.transaction() as session:
            event = await emit(
                session, topic="test.fail", aggregate_type="thing", aggregate_id=uuid.uuid4()
            )
        with pytest.raises(ValueError, match="downstream"):
            await process_outbox({"runtime": runtime}, str(event.id))
        async with runtime.sessionmaker() as session:
            row = await session.get(OutboxEvent, event.id)
            assert row is not None and row.state == OutboxState.PENDING
            assert row.attempts == 1 and "downstream" in row.last_error
            count = await session.scalar(
                select(func.count()).where(Notification.event_id == event.id)
            )
            assert count == 0
    finally:
        unsubscribe("test.fail", failing)


async def test_sweeper_reenqueues_stale_events(runtime: Any) -> None:
    from datetime import timedelta

    from backend.core.db import utcnow

    async with runtime.transaction() as session:
        event = await emit(
            session, topic="test.noop", aggregate_type="thing", aggregate_id=uuid.uuid4()
        )
    await runtime.queue.pool.delete(f"arq:job:{event.id}")  # as if Redis lost it
    async with runtime.transaction() as session:
        row = await session.get(OutboxEvent, event.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(minutes=6)
    assert await sweep_outbox({"runtime": runtime}) >= 1
    assert await _job_queued(runtime, str(event.id))


async def test_sweeper_runs_an_event_its_earlier_sweep_reenqueued_in_vain(runtime: Any) -> None:
    """A job id arq still holds (a dead worker's copy) refuses the re-enqueue: the next sweep
    runs the event itself, once."""
    from datetime import timedelta

    from backend.core.db import utcnow

    async with runtime.transaction() as session:
        event = await emit(
            session, topic="test.noop", aggregate_type="thing", aggregate_id=uuid.uuid4()
        )
    assert await _job_queued(runtime, str(event.id))  # the stuck copy
    async with runtime.transaction() as session:
        row = await session.get(OutboxEvent, event.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(minutes=12)
        row.enqueued_at = utcnow() - timedelta(minutes=6)  # an earlier sweep re-enqueued it
    assert await sweep_outbox({"runtime": runtime}) >= 1
    async with runtime.transaction() as session:
        row = await session.get(OutboxEvent, event.id)
        assert row is not None
        assert row.state == OutboxState.DONE
        assert row.attempts == 1
    await runtime.queue.pool.delete(f"arq:job:{event.id}")


async def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.mark.slow
async def test_worker_killed_mid_job_effect_happens_exactly_once(
    runtime: Any, database_url: str, redis_url: str
) -> None:
    queue = f"tongxin:crash:{uuid.uuid4().hex[:8]}"
    started_key = f"tongxin-test:started:{queue}"
    env = {
        **os.environ,
        "TEST_DATABASE_URL": database_url,
        "TEST_REDIS_URL": redis_url,
        "TEST_QUEUE": queue,
        "TEST_STARTED_KEY": started_key,
    }
    from backend.core.queue import JobQueue

    producer = await JobQueue.connect(redis_url, queue_name=queue)
    try:
        async with runtime.sessionmaker() as session:
            session.queue = producer
            event = await emit(
                session, topic="test.slow", aggregate_type="thing", aggregate_id=uuid.uuid4()
            )
            await session.commit()
            from backend.core.db import run_after_commit

            await run_after_commit(session)
    finally:
        await producer.close()

    def start(slow: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.worker_child"],
            cwd=ROOT,
            env={**env, "TEST_SLOW_SECONDS": slow},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    redis = runtime.queue.pool
    first = start("60")
    try:
        assert await _wait_for(lambda: redis.lrange(started_key, 0, -1), 30), (
            "the job never started"
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    async def notifications() -> int:
        async with runtime.sessionmaker() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.event_id == event.id)
                )
                or 0
            )

    assert await notifications() == 0, "the killed job's transaction must not have committed"

    second = start("0")
    try:

        async def done() -> bool:
            async with runtime.sessionmaker() as session:
                row = await session.get(OutboxEvent, event.id)
                return row is not None and row.state == OutboxState.DONE

        assert await _wait_for(done, 45), "the job was not retried after the crash"
    finally:
        second.terminate()
        second.wait(10)
    assert await notifications() == 1
    assert await redis.llen(started_key) == 2  # it really ran twice
    await redis.delete(started_key)
