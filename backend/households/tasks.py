"""Daily job: hide the needs of households whose verification lapsed (safe to run twice)."""

from __future__ import annotations

import logging

from backend.households.service import lapse_verifications
from jobs.context import JobCtx, runtime

log = logging.getLogger(__name__)


async def verification_lapse(ctx: JobCtx) -> int:
    """Returns how many households had needs hidden; they show as "needs re-verification"."""
    async with runtime(ctx).transaction() as session:
        hit = await lapse_verifications(session)
    if hit:
        log.info("verification lapsed: needs hidden for %d households", len(hit))
    return len(hit)
