"""Daily retention: partitions ahead, handled events out, old audit months per the setting."""

from __future__ import annotations

from typing import Any

from arq import cron, func

from backend.outbox.retention import run_retention
from jobs.context import JobCtx, runtime


async def retention(ctx: JobCtx) -> str:
    rt = runtime(ctx)
    report = await run_retention(
        rt.transaction,
        retention_days=rt.settings.outbox_retention_days,
        audit_retention_months=rt.settings.audit_retention_months,
    )
    return report.summary()


# 02:40 Asia/Shanghai (18:40 UTC); also at worker start-up, so partitions exist ahead.
FUNCTIONS: list[Any] = [func(retention, name="retention", keep_result=0)]
CRON_JOBS: list[Any] = [
    cron(
        retention, name="cron:retention", hour={18}, minute={40}, run_at_startup=True, keep_result=0
    )
]
