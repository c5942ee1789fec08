"""Outbox subscribers that keep the dashboard's figures (``backend/dashboard/figures.py``).

Each runs in the outbox job's transaction and recomputes the contribution of the object the
event is about, so a replayed or late event changes nothing more.
"""

from __future__ import annotations

from backend.core.events import HandlerContext, subscribe
from backend.dashboard import figures
from backend.outbox.models import OutboxEvent

NEED_OBJECTS = ("need", "match", "claim", "fulfilment", "delivery")


@subscribe("need.*", "match.*", "claim.*", "fulfilment.*", "delivery.*")
async def dashboard_of_need(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type not in NEED_OBJECTS:
        return
    need_id = await figures.need_of(ctx.session, event.aggregate_type, event.aggregate_id)
    if need_id is not None:
        await figures.refresh_need(ctx.session, need_id)


@subscribe("household.*")
async def dashboard_of_household(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "household":
        await figures.refresh_household(ctx.session, event.aggregate_id)
