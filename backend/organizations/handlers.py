"""Outbox subscribers that keep the organizations' verified figures (``figures.py``).

Each runs in the outbox job's transaction and recounts the part the event is about, so a
replayed or late event changes nothing that is already true. Topics: ``delivery.*``
(confirmed, disputed), ``need.*`` (its fulfilments' deliveries, its cash measure),
``hours.*`` (an hours log approved or rejected; attendance recorded on a task),
``disbursement.*`` (an approved disbursement booked in the project's ledger).
"""

from __future__ import annotations

import uuid

from backend.core.events import HandlerContext, subscribe
from backend.organizations import figures
from backend.outbox.models import OutboxEvent


@subscribe("delivery.*")
async def org_figures_of_delivery(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "delivery":
        await figures.refresh_delivery(ctx.session, event.aggregate_id)


@subscribe("need.*")
async def org_figures_of_need(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "need":
        await figures.refresh_need(ctx.session, event.aggregate_id)


@subscribe("hours.*")
async def org_figures_of_hours(ctx: HandlerContext, event: OutboxEvent) -> None:
    if event.aggregate_type == "hours":
        await figures.refresh_hours(ctx.session, event.aggregate_id)
    elif event.aggregate_type == "task":
        await figures.refresh_task(ctx.session, event.aggregate_id)


@subscribe("disbursement.*")
async def org_figures_of_disbursement(ctx: HandlerContext, event: OutboxEvent) -> None:
    project_id = event.payload.get("project_id")
    if event.aggregate_type == "disbursement" and isinstance(project_id, str):
        await figures.refresh_project(ctx.session, uuid.UUID(project_id))
