"""arq WorkerSettings, the cron schedule, and the in-process runner used by ``tongxin run``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from arq import cron, func
from arq.worker import Worker

from backend.config import get_settings
from backend.core.queue import QUEUE_NAME, redis_settings
from backend.core.runtime import Runtime
from backend.models import load_all_models
from jobs.context import JobCtx
from jobs.tasks import registry
from jobs.tasks.outbox import process_outbox, sweep_outbox

log = logging.getLogger(__name__)

FUNCTIONS: list[Any] = [
    func(process_outbox, name="process_outbox", keep_result=0, max_tries=10),
    func(sweep_outbox, name="sweep_outbox", keep_result=0),
    *registry.FUNCTIONS,
]

CRON_JOBS: list[Any] = [
    # every 15 s: events whose relay to Redis was lost (a web process killed between its commit
    # and the enqueue) wait at most TONGXIN_OUTBOX_SWEEP_AFTER_SECONDS + 15 s
    cron(
        sweep_outbox,
        name="cron:sweep_outbox",
        second={0, 15, 30, 45},
        run_at_startup=True,
        keep_result=0,
    ),
    *registry.CRON_JOBS,
]


async def _startup(ctx: JobCtx) -> None:
    """Standalone worker: build the Runtime from settings (production footprint)."""
    if "runtime" in ctx:
        return
    load_all_models()  # also when started as `arq jobs.worker.WorkerSettings`, not by the CLI
    settings = get_settings()
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("tongxin worker needs TONGXIN_DATABASE_URL and TONGXIN_REDIS_URL")
    ctx["runtime"] = await Runtime.start(
        settings, database_url=settings.database_url, redis_url=settings.redis_url
    )
    ctx["own_runtime"] = True


async def _shutdown(ctx: JobCtx) -> None:
    if ctx.pop("own_runtime", False):
        await ctx.pop("runtime").close()


class WorkerSettings:
    """``arq jobs.worker.WorkerSettings`` works too; ``tongxin worker`` is the documented way."""

    functions: ClassVar[list[Any]] = FUNCTIONS
    cron_jobs: ClassVar[list[Any]] = CRON_JOBS
    on_startup = _startup
    on_shutdown = _shutdown
    queue_name = QUEUE_NAME
    job_timeout = 300
    max_jobs = 10
    keep_result = 60
    allow_abort_jobs = True


def build_worker(
    runtime: Runtime | None = None,
    *,
    redis_url: str | None = None,
    queue_name: str = QUEUE_NAME,
    job_timeout: int = 300,
    with_cron: bool = True,
    handle_signals: bool = True,
) -> Worker:
    ctx: dict[str, Any] = {}
    if runtime is not None:
        ctx["runtime"] = runtime
        redis_url = runtime.redis_url
    assert redis_url, "a Redis URL is required"
    return Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS if with_cron else None,
        on_startup=_startup,
        on_shutdown=_shutdown,
        redis_settings=redis_settings(redis_url),
        redis_pool=runtime.queue.pool if runtime is not None else None,
        queue_name=queue_name,
        job_timeout=job_timeout,
        max_jobs=10,
        keep_result=60,
        ctx=ctx,
        handle_signals=handle_signals,
        allow_abort_jobs=True,
    )


async def run_in_process(runtime: Runtime) -> tuple[Worker, asyncio.Task[None]]:
    """Start a worker inside the web process (embedded footprint)."""
    worker = build_worker(
        runtime,
        queue_name=runtime.queue.queue_name,
        job_timeout=runtime.settings.job_timeout_seconds,
        handle_signals=False,
    )
    task = asyncio.create_task(worker.async_run(), name="arq-worker")
    return worker, task
