"""Jobs of the donations domain: pledge expiry and the daily Stripe reconciliation."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from arq import cron, func

from backend.audit.service import Actor
from backend.core.db import utcnow
from backend.core.runtime import Runtime
from backend.donations import handlers, service
from backend.donations.handlers import HANDLED_TYPES
from backend.donations.models import EntryType
from backend.donations.webhooks import store_event
from backend.integrations.stripe import PaymentProvider, payment_provider

log = logging.getLogger(__name__)

RECONCILE_WINDOW = timedelta(days=3)


def provider_of(runtime: Runtime) -> PaymentProvider:
    """The process's payment provider, built on first use (tests may place their own)."""
    if runtime.services.payments is None:
        runtime.services.payments = payment_provider(runtime.settings)
    return runtime.services.payments


async def expire_pledges(ctx: dict[str, Any]) -> int:
    rt: Runtime = ctx["runtime"]
    async with rt.transaction() as session:
        count = await service.expire_pledges(session)
    if count:
        log.info("expired %d offline pledges", count)
    return count


async def reconcile_stripe(ctx: dict[str, Any]) -> dict[str, int]:
    """List the last days' events and balance transactions; book exactly once what was missed.

    Missed events go through the webhook's own path (stored under their unique id, applied by
    the outbox job). Balance transactions are checked against the ledger: a charge or refund
    without its entry is booked through the same idempotent service calls.
    """
    rt: Runtime = ctx["runtime"]
    provider = provider_of(rt)
    if not provider.online:
        return {"events": 0, "movements": 0}
    since = utcnow() - RECONCILE_WINDOW
    new_events = 0
    for event in await provider.list_events(since=since, types=list(HANDLED_TYPES)):
        async with rt.transaction() as session:
            if await store_event(session, event):
                new_events += 1
    booked = 0
    for move in await provider.list_balance_movements(since=since):
        if move.payment_intent_id is None:
            continue
        async with rt.transaction() as session:
            if move.type == "charge":
                donation_id = _uuid(move.donation_id)
                if donation_id is not None and await service.book_credit(
                    session,
                    donation_id,
                    amount_fen=move.amount_fen,
                    payment_intent_id=move.payment_intent_id,
                    actor=Actor.system(),
                ):
                    booked += 1
            elif await service.book_debit(
                session,
                payment_intent_id=move.payment_intent_id,
                entry_type=EntryType.REFUND,
                amount_fen=move.amount_fen,
                external_event_id=None,
            ):
                booked += 1
    if new_events or booked:
        log.warning("Stripe reconciliation: %d missed events, %d bookings", new_events, booked)
    return {"events": new_events, "movements": booked}


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


# Importing handlers registers the outbox subscriber wherever jobs run.
SUBSCRIBERS = (handlers.on_stripe_event,)

FUNCTIONS: list[Any] = [
    func(expire_pledges, name="donations.expire_pledges", keep_result=0),
    func(reconcile_stripe, name="donations.reconcile_stripe", keep_result=0),
]
CRON_JOBS: list[Any] = [
    cron(expire_pledges, name="cron:donations.expire_pledges", minute={17}, keep_result=0),
    cron(
        reconcile_stripe,
        name="cron:donations.reconcile_stripe",
        hour={3},
        minute={40},
        keep_result=0,
    ),
]
