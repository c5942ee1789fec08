"""arq jobs of the matches domain: one county's run, the nightly schedule, stale expiry.

Every job is safe to run twice: it takes an id, reloads, and re-checks the state.
"""

from __future__ import annotations

import logging
import uuid

from backend.core.db import utcnow
from backend.core.repository import get_by_id
from backend.core.runtime import Runtime
from backend.matches import (
    handlers,  # noqa: F401 - registers the outbox subscribers
    service,
)
from backend.matches import repository as repo
from backend.matches.models import RunState
from jobs.context import JobCtx, runtime

log = logging.getLogger(__name__)


async def _progress(rt: Runtime, run_id: uuid.UUID, value: int) -> None:
    async with rt.transaction() as session:
        run = await repo.run_for_update(session, run_id)
        if run is not None and run.state == RunState.RUNNING:
            run.progress = value


async def execute_run(rt: Runtime, run_id: uuid.UUID) -> str:
    """Run one queued matching run; "skipped" when it is already finished (or unknown)."""
    async with rt.transaction() as session:
        run = await repo.run_for_update(session, run_id)
        if run is None or run.state in (RunState.DONE, RunState.FAILED):
            return "skipped"
        run.state = RunState.RUNNING
        run.started_at = utcnow()
        run.progress = 10
    try:
        async with rt.transaction() as session:
            run = await get_by_id(session, type(run), run_id)
            assert run is not None

            async def progress(value: int) -> None:
                await _progress(rt, run_id, value)

            await service.run_county(session, run, progress=progress)
    except Exception as exc:
        log.exception("matching run %s failed", run_id)
        async with rt.transaction() as session:
            failed = await repo.run_for_update(session, run_id)
            if failed is not None:
                failed.state = RunState.FAILED
                failed.finished_at = utcnow()
                failed.error = f"{type(exc).__name__}: {exc}"[:2000]
        return "failed"
    return "done"


async def run_matching(ctx: JobCtx, run_id: str) -> str:
    return await execute_run(runtime(ctx), uuid.UUID(run_id))


async def matching_nightly(ctx: JobCtx) -> int:
    """Queue a run for every county with a coordinator or published needs."""
    rt = runtime(ctx)
    queued = 0
    async with rt.transaction() as session:
        for code in await repo.nightly_counties(session):
            await service.request_run(session, None, code)
            queued += 1
    return queued


async def expire_matches(ctx: JobCtx) -> int:
    async with runtime(ctx).transaction() as session:
        return await service.expire_stale(session)
