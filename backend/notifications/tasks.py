"""arq tasks: send one message, send what is pending, daily digests, deadline checks.

``ctx["clock"]`` (a callable returning an aware datetime) replaces the real clock in tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from arq import cron, func

from backend.core.db import utcnow
from backend.notifications import deadlines, delivery
from jobs.context import JobCtx, runtime


def _now(ctx: JobCtx) -> datetime:
    clock: Callable[[], datetime] = ctx.get("clock", utcnow)
    return clock()


async def send_message(ctx: JobCtx, message_id: str) -> str:
    rt = runtime(ctx)
    async with rt.transaction() as session:
        return await delivery.deliver(session, uuid.UUID(message_id), rt.services)


async def send_pending(ctx: JobCtx) -> int:
    """Every minute: messages whose job was lost (Redis restart) or that failed and may retry."""
    rt = runtime(ctx)
    async with rt.transaction() as session:
        ids = await delivery.pending_ids(session, now=_now(ctx))
    sent = 0
    for message_id in ids:
        async with rt.transaction() as session:
            sent += (await delivery.deliver(session, message_id, rt.services)) == "sent"
    return sent


async def send_digests(ctx: JobCtx) -> int:
    rt = runtime(ctx)
    async with rt.transaction() as session:
        ids = await delivery.build_digests(session)
    for message_id in ids:
        async with rt.transaction() as session:
            await delivery.deliver(session, message_id, rt.services)
    return len(ids)


async def review_deadlines(ctx: JobCtx) -> dict[str, int]:
    rt = runtime(ctx)
    async with rt.transaction() as session:
        return await deadlines.review_sla(session, deadlines.Thresholds.of(rt.settings), _now(ctx))


async def daily_reminders(ctx: JobCtx) -> dict[str, int]:
    rt = runtime(ctx)
    async with rt.transaction() as session:
        return await deadlines.reminders(session, deadlines.Thresholds.of(rt.settings), _now(ctx))


FUNCTIONS: list[Any] = [
    func(send_message, name="send_message", keep_result=0, max_tries=5),
    func(send_pending, name="send_pending", keep_result=0),
    func(send_digests, name="send_digests", keep_result=0),
    func(review_deadlines, name="review_deadlines", keep_result=0),
    func(daily_reminders, name="daily_reminders", keep_result=0),
]

# Times are UTC: the review SLA every 5 minutes (4 h is the shortest SLA), the reminders daily
# at 08:30 Asia/Shanghai (00:30 UTC), the digest at 18:00 Asia/Shanghai (10:00 UTC).
CRON_JOBS: list[Any] = [
    cron(send_pending, name="cron:send_pending", second={30}, keep_result=0),
    cron(
        review_deadlines, name="cron:review_deadlines", minute=set(range(0, 60, 5)), keep_result=0
    ),
    cron(daily_reminders, name="cron:daily_reminders", hour={0}, minute={30}, keep_result=0),
    cron(send_digests, name="cron:send_digests", hour={10}, minute={0}, keep_result=0),
]
