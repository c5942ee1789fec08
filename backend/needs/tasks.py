"""Deadline job: published needs past their deadline expire (safe to run twice)."""

from __future__ import annotations

import logging

from backend.needs.service import expire_overdue
from jobs.context import JobCtx, runtime

log = logging.getLogger(__name__)


async def expire_needs(ctx: JobCtx) -> int:
    async with runtime(ctx).transaction() as session:
        count = await expire_overdue(session)
    if count:
        log.info("expired %d needs past their deadline", count)
    return count
