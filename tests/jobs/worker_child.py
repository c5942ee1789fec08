"""A worker process for test_worker_crash: a slow outbox handler that the test kills mid-job."""

from __future__ import annotations

import asyncio
import os

from redis.asyncio import Redis

from backend.config import get_settings
from backend.core.events import HandlerContext, subscribe
from backend.core.queue import redis_settings
from backend.core.runtime import Runtime
from backend.outbox.models import Notification, OutboxEvent
from jobs.worker import build_worker


@subscribe("test.slow")
async def slow_handler(hctx: HandlerContext, event: OutboxEvent) -> None:
    hctx.session.add(Notification(event_id=event.id, kind="test.slow", params={}))
    await hctx.session.flush()
    rs = redis_settings(os.environ["TEST_REDIS_URL"])
    redis = Redis(host=rs.host, port=rs.port, unix_socket_path=rs.unix_socket_path, db=rs.database)
    await redis.rpush(os.environ["TEST_STARTED_KEY"], str(event.id))
    await redis.aclose()
    await asyncio.sleep(float(os.environ["TEST_SLOW_SECONDS"]))


async def main() -> None:
    runtime = await Runtime.start(
        get_settings(),
        database_url=os.environ["TEST_DATABASE_URL"],
        redis_url=os.environ["TEST_REDIS_URL"],
        queue_name=os.environ["TEST_QUEUE"],
    )
    worker = build_worker(
        runtime, queue_name=os.environ["TEST_QUEUE"], job_timeout=2, with_cron=False
    )
    worker.poll_delay_s = 0.1
    try:
        await worker.async_run()
    finally:
        await worker.close()
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
