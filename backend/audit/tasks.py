"""Jobs of the audit chain: the sealer (after each commit, and swept every minute)."""

from __future__ import annotations

import logging
from typing import Any

from arq import cron, func

from backend.audit.checkpoints import notify_failure, verify_chain
from backend.audit.service import SEAL_BATCH, seal
from backend.core.db import utcnow
from jobs.context import JobCtx, runtime

log = logging.getLogger(__name__)


async def seal_audit(ctx: JobCtx) -> int:
    """Chain every committed entry of the queue; one short transaction per batch.

    Enqueued after each commit that audited something, and run by cron every minute. Safe to
    run twice or concurrently: sealers queue on the advisory lock, and a chained entry leaves
    the queue in the same transaction.
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


async def verify_audit_daily(ctx: JobCtx) -> str:
    """Seal, verify from the last checkpoint (recording the next one); on failure tell every
    platform admin and auditor in-app (once a day) and log an error."""
    rt = runtime(ctx)
    await seal_audit(ctx)
    async with rt.transaction() as session:
        check = await verify_chain(session)
    if not check.result.ok:
        log.error("daily audit verification: %s", check.line())
        async with rt.transaction() as session:
            await notify_failure(session, check, day=utcnow().date())
    return check.line()


FUNCTIONS: list[Any] = [
    func(seal_audit, name="seal_audit", keep_result=0, max_tries=5),
    func(verify_audit_daily, name="verify_audit", keep_result=0),
]
CRON_JOBS: list[Any] = [
    cron(seal_audit, name="cron:seal_audit", second={30}, run_at_startup=True, keep_result=0),
    # 03:10 Asia/Shanghai (19:10 UTC)
    cron(verify_audit_daily, name="cron:verify_audit", hour={19}, minute={10}, keep_result=0),
]
