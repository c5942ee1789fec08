"""``POST /webhooks/stripe``: verify, store under a unique key, enqueue once, answer fast."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response, post
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.http import DB
from backend.core.runtime import runtime_of
from backend.donations import repository as repo
from backend.donations.handlers import HANDLED_TYPES, STRIPE_SOURCE
from backend.integrations.stripe import ProviderEvent, SignatureInvalidError, verify_webhook
from backend.outbox.service import emit

log = logging.getLogger(__name__)


async def store_event(session: AsyncSession, event: ProviderEvent) -> bool:
    """Insert the event (``ON CONFLICT DO NOTHING``); emit the job only when it is new."""
    new_id = await repo.insert_external_event(
        session,
        source=STRIPE_SOURCE,
        external_id=event.id,
        event_type=event.type,
        payload=event.payload,
    )
    if new_id is None:
        return False
    await emit(
        session,
        topic="stripe.event_received",
        aggregate_type="external_event",
        aggregate_id=new_id,
        payload={"type": event.type},
    )
    return True


@post("/webhooks/stripe", include_in_schema=False, status_code=200)
async def stripe_webhook(request: Request[Any, Any, Any], state: State, db: DB) -> Response[Any]:
    secret = runtime_of(state).settings.stripe_webhook_secret
    if not secret:
        return Response({"error": "not_found"}, status_code=404, media_type=MediaType.JSON)
    body = await request.body()
    try:
        event = verify_webhook(body, request.headers.get("stripe-signature"), secret)
    except SignatureInvalidError as exc:
        log.warning("rejected a Stripe webhook: %s", exc)
        return Response({"error": "invalid_signature"}, status_code=400, media_type=MediaType.JSON)
    if event.type not in HANDLED_TYPES:
        return Response(
            {"received": True, "stored": False}, status_code=200, media_type=MediaType.JSON
        )
    new = await store_event(db, event)
    return Response({"received": True, "stored": new}, status_code=200, media_type=MediaType.JSON)
