"""Jobs of the audit chain: the sealer (after each commit, and swept every minute)."""

from __future__ import annotations

import logging
from typing import Any

from arq import cron, func

from backend.audit.service import SEAL_BATCH, seal
from jobs.context import JobCtx, runtime

log = logging.getLogger(__name__)


async def seal_audit(ctx: JobCtx) -> int:
    """Chain every committed, unsealed entry; one short transaction per batch.

    Safe to run twice or concurrently: sealers queue on the advisory lock, and an entry already
    chained is not seen again.
    """
    rt = runtime(ctx)
    total = refused = 0
    while True:
        async with rt.transaction() as session:
            result = await seal(session)
        total, refused = total + result.sealed, refused + result.refused
        if result.sealed + result.refused < SEAL_BATCH:
            break
    if refused:
        log.error("audit sealer: %d entries without a valid MAC left unsealed", refused)
    return total


FUNCTIONS: list[Any] = [func(seal_audit, name="seal_audit", keep_result=0, max_tries=5)]
CRON_JOBS: list[Any] = [
    cron(seal_audit, name="cron:seal_audit", second={30}, run_at_startup=True, keep_result=0)
]
