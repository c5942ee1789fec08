"""Write outbox events in the caller's transaction; relay them to arq after commit."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor, record
from backend.core.db import add_after_commit, queue_of, utcnow
from backend.outbox.models import OutboxEvent, OutboxState

log = logging.getLogger(__name__)

_SCALARS = (str, int, float, bool, type(None))
_TOKEN = re.compile(r"^[A-Za-z0-9_.:+\-]{0,64}$")


def _check_payload(payload: dict[str, Any]) -> None:
    """Payloads carry ids, codes, states, dates and numbers only — never free text.

    Jobs reload what they need by id, so nothing personal can travel through Redis.
    """
    for key, value in payload.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, _SCALARS) or (isinstance(item, str) and not _TOKEN.match(item)):
                raise ValueError(f"outbox payload field {key!r} must be an id, a code or a number")


async def emit(
    session: AsyncSession,
    *,
    topic: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID,
    payload: dict[str, Any] | None = None,
) -> OutboxEvent:
    payload = payload or {}
    _check_payload(payload)
    event = OutboxEvent(
        id=uuid.uuid4(),
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        state=OutboxState.PENDING,
        created_at=utcnow(),
    )
    session.add(event)
    pending: list[uuid.UUID] = session.info.setdefault("outbox_pending", [])
    if not pending:
        add_after_commit(session, _relay)
    pending.append(event.id)
    return event


async def _relay(session: AsyncSession) -> None:
    ids: list[uuid.UUID] = session.info.pop("outbox_pending", [])
    queue = queue_of(session)
    if queue is None or not ids:
        return  # the sweeper picks them up
    try:
        for event_id in ids:
            await queue.enqueue("process_outbox", str(event_id), job_id=str(event_id))
    except Exception:  # Redis down: the database row is safe; the sweeper re-enqueues it
        log.warning("outbox relay failed; %d events left for the sweeper", len(ids), exc_info=True)


async def stale_pending(
    session: AsyncSession, *, older_than: timedelta, limit: int = 500
) -> list[OutboxEvent]:
    cutoff = utcnow() - older_than
    rows = await session.scalars(
        select(OutboxEvent)
        .where(
            OutboxEvent.state == OutboxState.PENDING,
            OutboxEvent.created_at < cutoff,
            or_(OutboxEvent.enqueued_at.is_(None), OutboxEvent.enqueued_at < cutoff),
        )
        .order_by(OutboxEvent.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def record_change(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: uuid.UUID,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """A state change's two records in the caller's transaction: the audit row and the outbox
    event (topic = ``action``). ``detail`` is audited; ``payload`` travels to the jobs."""
    await record(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        region_code=region_code,
        detail=detail,
    )
    await emit(
        session, topic=action, aggregate_type=object_type, aggregate_id=object_id, payload=payload
    )
