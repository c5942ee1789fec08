"""The coordinator match queue's maintained rows (``match_queue``, one per need).

The queue page lists needs with proposed matches by urgency and best score, with a count. It
reads those from one row per need kept by the transactions that change proposals: a matching
run (new proposals, earlier ones superseded), approve, reject, reassign and the expiry of a
proposal call :func:`refresh` with the needs they touched, after their own writes. The row is
locked first (created when missing), then recounted from the need's proposed matches by a new
statement, so two transactions about one need take turns and the second counts what the first
committed; a recount run twice changes nothing. Accepting and declining concern approved
matches only and leave the queue alone. A need's own changes (urgency, category, region) reach
its row through the ``need.*`` outbox handler. The demo seeders, ``tongxin seed-scale`` and the
migration recount every row once (:func:`rebuild`), since their rows have no such calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.matches import repository as repo


async def refresh(session: AsyncSession, need_ids: Iterable[uuid.UUID]) -> None:
    """Bring the needs' queue rows up to date with their proposed matches (locks them in id
    order; call once, after the transaction's changes to the needs' matches)."""
    ids = sorted(set(need_ids))
    if not ids:
        return
    await session.flush()
    await repo.lock_queue_needs(session, ids)
    await repo.recount_queue_needs(session, ids)


async def refresh_need(session: AsyncSession, need_id: uuid.UUID) -> None:
    """After a change of the need itself: its row's copy of urgency, category and region."""
    if await repo.queued_need(session, need_id):
        await refresh(session, [need_id])


async def rebuild(session: AsyncSession) -> None:
    await repo.rebuild_queue(session)
