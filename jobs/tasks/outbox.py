"""Process outbox events (exactly-once database effects) and re-enqueue stragglers."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select

from backend.core.db import utcnow
from backend.core.events import HandlerContext, handlers_for
from backend.core.repository import get_by_id
from backend.outbox.models import OutboxEvent, OutboxState
from backend.outbox.service import stale_pending
from jobs.context import JobCtx, runtime

log = logging.getLogger(__name__)


async def process_outbox(ctx: JobCtx, event_id: str) -> str:
    """Run every handler of the event and mark it done, all in one transaction.

    Safe to run twice: the row is locked, and a done event is skipped.
    """
    rt = runtime(ctx)
    try:
        async with rt.transaction() as session:
            event = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.id == uuid.UUID(event_id))
                    .with_for_update()
                )
            ).first()
            if event is None or event.state != OutboxState.PENDING:
                return "skipped"
            hctx = HandlerContext(session=session, services=rt.services)
            for handler in handlers_for(event.topic):
                await handler(hctx, event)
            event.state = OutboxState.DONE
            event.processed_at = utcnow()
            event.attempts += 1
            return "done"
    except Exception as exc:
        async with rt.transaction() as session:
            failed = await get_by_id(session, OutboxEvent, uuid.UUID(event_id))
            if failed is not None:
                failed.attempts += 1
                failed.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        raise


INLINE_PER_SWEEP = 50  # stragglers one sweep runs itself, at most


async def sweep_outbox(ctx: JobCtx) -> int:
    """Re-enqueue events still pending after the configured delay (default 5 minutes).

    An event that an earlier sweep already re-enqueued and that is still pending (its job was
    lost with a worker, or arq refused the job id because it still holds a dead worker's copy)
    is run here, by this job: :func:`process_outbox` locks the row and skips a done event, so
    its effects still happen exactly once.
    """
    rt = runtime(ctx)
    delay = timedelta(seconds=rt.settings.outbox_sweep_after_seconds)
    count = 0
    again: list[str] = []
    async with rt.transaction() as session:
        for event in await stale_pending(session, older_than=delay):
            if event.enqueued_at is not None:
                again.append(str(event.id))
            if await rt.queue.enqueue("process_outbox", str(event.id), job_id=str(event.id)):
                count += 1
            event.enqueued_at = utcnow()
    if count:
        log.info("outbox sweeper re-enqueued %d events", count)
    ran = 0
    for event_id in again[:INLINE_PER_SWEEP]:
        try:
            if await process_outbox(ctx, event_id) == "done":
                ran += 1
        except Exception:  # recorded on the event (attempts, last_error); the next sweep retries
            log.warning("outbox sweeper could not run event %s", event_id, exc_info=True)
    if ran:
        log.info("outbox sweeper ran %d events a re-enqueued job had not run", ran)
    return count + ran
