"""A thin wrapper over arq's Redis pool: the one place that enqueues jobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool

QUEUE_NAME = "tongxin:queue"


def redis_settings(url: str) -> RedisSettings:
    """``redis://host:port/db`` or ``unix:///path/redis.sock`` (the embedded server)."""
    if url.startswith("unix://"):
        return RedisSettings(unix_socket_path=url[len("unix://") :])
    return RedisSettings.from_dsn(url)


@dataclass
class JobQueue:
    pool: ArqRedis
    queue_name: str = QUEUE_NAME

    @classmethod
    async def connect(cls, url: str, *, queue_name: str = QUEUE_NAME) -> JobQueue:
        pool = await create_pool(redis_settings(url), default_queue_name=queue_name)
        return cls(pool=pool, queue_name=queue_name)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, **kwargs: Any
    ) -> bool:
        """True when enqueued; False when a job with this id is already queued or running."""
        job = await self.pool.enqueue_job(
            function, *args, _job_id=job_id, _queue_name=self.queue_name, **kwargs
        )
        return job is not None

    async def close(self) -> None:
        await self.pool.aclose()
