"""Cron: escalate reports past their acknowledge or answer deadline (every 15 minutes)."""

from __future__ import annotations

from backend.grievance.service import escalate_overdue
from jobs.context import JobCtx, runtime


async def escalate_reports(ctx: JobCtx) -> int:
    async with runtime(ctx).transaction() as session:
        return await escalate_overdue(session)
