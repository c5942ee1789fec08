"""Outbox subscribers: every change to a listing reaches the index after commit.

Each handler reloads by aggregate id and writes the current public state (upsert, or delete
when the row is no longer public), so running it twice, or out of order, is harmless.
"""

from __future__ import annotations

import uuid

from backend.core.events import HandlerContext, subscribe
from backend.outbox.models import OutboxEvent
from backend.search import repository as projections
from backend.search import service
from backend.search.engine import SearchEngine

# aggregate_type → search kind (a task may be emitted as "task" or "volunteer_task")
_KIND_OF = {
    "need": "need",
    "resource": "resource",
    "project": "project",
    "task": "task",
    "volunteer_task": "task",
}


def _engine(ctx: HandlerContext) -> SearchEngine:
    from backend.search.provider import engine_of

    if ctx.services is None:
        raise RuntimeError(
            "search handlers need the runtime's services (process_outbox passes them)"
        )
    return engine_of(ctx.services)


@subscribe("need.*", "resource.*", "project.*", "task.*")
async def index_listing(ctx: HandlerContext, event: OutboxEvent) -> None:
    kind = _KIND_OF.get(event.aggregate_type) or _KIND_OF.get(event.topic.split(".", 1)[0])
    if kind is None:
        return
    await service.sync_ids(ctx.session, _engine(ctx), kind, [event.aggregate_id])


@subscribe("household.*")
async def index_household_needs(ctx: HandlerContext, event: OutboxEvent) -> None:
    """Consent withdrawn, verification lapsed or renewed: re-project all the household's needs."""
    if event.aggregate_type != "household":
        return
    ids = await projections.needs_of_household(ctx.session, event.aggregate_id)
    await service.sync_ids(ctx.session, _engine(ctx), "need", ids)


@subscribe("organization.*")
async def index_organization_listings(ctx: HandlerContext, event: OutboxEvent) -> None:
    """Approval, suspension or renaming changes every listing of the organization."""
    if event.aggregate_type != "organization":
        return
    engine = _engine(ctx)
    for kind, ids in (
        await projections.ids_of_organization(ctx.session, event.aggregate_id)
    ).items():
        await service.sync_ids(ctx.session, engine, kind, ids)


REBUILD_TOPIC = "search.rebuild"


@subscribe(REBUILD_TOPIC)
async def rebuild_index(ctx: HandlerContext, event: OutboxEvent) -> None:
    """Emitted after bulk loads (the demo seeder): rebuild from what was committed."""
    await service.rebuild(ctx.session, _engine(ctx))


def rebuild_event_id() -> uuid.UUID:
    return uuid.uuid4()
