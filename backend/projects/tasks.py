"""Daily job: flag executing projects that have posted no update for 90 days."""

from __future__ import annotations

from backend.projects.service import flag_overdue
from jobs.context import JobCtx, runtime


async def flag_overdue_projects(ctx: JobCtx) -> int:
    async with runtime(ctx).transaction() as session:
        return await flag_overdue(session)
