"""Outbox subscribers: a stored Stripe event is applied once, in the job's transaction."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor
from backend.core.db import utcnow
from backend.core.events import HandlerContext, subscribe
from backend.donations import repository as repo
from backend.donations import service
from backend.donations.models import EntryType
from backend.outbox.models import ExternalEvent, OutboxEvent

log = logging.getLogger(__name__)

STRIPE_SOURCE = "stripe"
HANDLED_TYPES = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "payment_intent.succeeded",
    "charge.refunded",
    "charge.dispute.created",
)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _id_of(value: Any) -> str | None:
    """An expandable Stripe field: the id string, or the expanded object's id."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


async def apply_stripe_payload(
    session: AsyncSession,
    event_type: str,
    obj: dict[str, Any],
    *,
    external_event_id: uuid.UUID | None,
) -> str:
    """Apply one Stripe object; returns what happened (kept on the external event)."""
    metadata = obj.get("metadata") or {}
    if event_type in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
        if obj.get("payment_status") != "paid":
            return "not paid yet"
        donation_id = _uuid(metadata.get("donation_id") or obj.get("client_reference_id"))
        intent = _id_of(obj.get("payment_intent"))
        if donation_id is None or intent is None:
            return "not a Tongxin donation"
        entry = await service.book_credit(
            session,
            donation_id,
            amount_fen=int(obj.get("amount_total") or 0),
            payment_intent_id=intent,
            actor=Actor.system(),
        )
        return "booked" if entry else "already booked"
    if event_type == "payment_intent.succeeded":
        donation_id = _uuid(metadata.get("donation_id"))
        if donation_id is None:
            return "not a Tongxin donation"
        entry = await service.book_credit(
            session,
            donation_id,
            amount_fen=int(obj.get("amount_received") or 0),
            payment_intent_id=str(obj["id"]),
            actor=Actor.system(),
        )
        return "booked" if entry else "already booked"
    if event_type == "checkout.session.async_payment_failed":
        donation_id = _uuid(metadata.get("donation_id") or obj.get("client_reference_id"))
        if donation_id is None:
            return "not a Tongxin donation"
        return "failed" if await service.mark_failed(session, donation_id) else "unchanged"
    if event_type == "charge.refunded":
        intent = _id_of(obj.get("payment_intent"))
        amount = int(obj.get("amount_refunded") or 0)
        if intent is None or amount <= 0:
            return "nothing to refund"
        entry = await service.book_debit(
            session,
            payment_intent_id=intent,
            entry_type=EntryType.REFUND,
            amount_fen=amount,
            external_event_id=external_event_id,
        )
        return "booked" if entry else "pending"
    if event_type == "charge.dispute.created":
        intent = _id_of(obj.get("payment_intent"))
        amount = int(obj.get("amount") or 0)
        if intent is None or amount <= 0:
            return "nothing disputed"
        entry = await service.book_debit(
            session,
            payment_intent_id=intent,
            entry_type=EntryType.DISPUTE,
            amount_fen=amount,
            external_event_id=external_event_id,
        )
        return "booked" if entry else "pending"
    return "ignored"


async def apply_external_event(session: AsyncSession, event_id: uuid.UUID) -> str:
    event: ExternalEvent | None = await repo.lock_external_event(session, event_id)
    if event is None or event.handled_at is not None:
        return "skipped"
    data = event.payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    outcome = (
        "malformed"
        if not isinstance(obj, dict)
        else await apply_stripe_payload(session, event.event_type, obj, external_event_id=event.id)
    )
    event.handled_at = utcnow()
    event.error = (
        ""
        if outcome
        in {"booked", "already booked", "pending", "failed", "unchanged", "ignored", "not paid yet"}
        else outcome
    )
    log.info("stripe event %s (%s): %s", event.external_id, event.event_type, outcome)
    return outcome


@subscribe("stripe.event_received")
async def on_stripe_event(ctx: HandlerContext, event: OutboxEvent) -> None:
    await apply_external_event(ctx.session, event.aggregate_id)
