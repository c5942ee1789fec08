"""The Stripe webhook: signatures, exactly-once storage and booking, events in any order.

Payloads are signed with ``stripe.WebhookSignature`` (the library's own signing code) and posted
through the ASGI app to a real PostgreSQL; jobs run as the worker runs them (``process_outbox``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

import backend.donations.handlers  # noqa: F401  - registers the outbox subscriber
from backend.donations.models import Donation, DonationState, EntryType, LedgerEntry, PendingEffect
from backend.outbox.models import ExternalEvent, OutboxEvent
from backend.projects.models import Project
from jobs.tasks.outbox import process_outbox
from tests.donations.conftest import (
    charge_refunded,
    checkout_completed,
    count,
    dispute_created,
    intent_succeeded,
    ledger_of,
    make_donation,
    make_project,
    sign,
)
from tests.helpers import drain_outbox


async def post_event(client: Any, payload: dict[str, Any], **sign_kwargs: Any) -> Any:
    body, header = sign(payload, **sign_kwargs)
    return await client.post(
        "/webhooks/stripe",
        content=body,
        headers={"stripe-signature": header, "content-type": "application/json"},
    )


async def outbox_ids(runtime: Any, external_id: str) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.id)
            .join(ExternalEvent, ExternalEvent.id == OutboxEvent.aggregate_id)
            .where(ExternalEvent.external_id == external_id)
        )
        return [str(r) for r in rows]


async def test_same_event_50_times_concurrently_books_once(
    stripe_client: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    donation = await make_donation(runtime, project, demo["donor"], amount_fen=12_345)
    payload = checkout_completed(donation, "pi_concurrent_50")

    responses = await asyncio.gather(*(post_event(stripe_client, payload) for _ in range(50)))

    assert [r.status_code for r in responses] == [200] * 50
    assert sum(1 for r in responses if r.json()["stored"]) == 1
    assert (
        await count(
            runtime, select(ExternalEvent).where(ExternalEvent.external_id == payload["id"])
        )
        == 1
    )
    assert len(await outbox_ids(runtime, payload["id"])) == 1
    await drain_outbox(runtime)
    entries = await ledger_of(runtime, project.id)
    assert [(e.entry_type, e.amount_fen, e.balance_after_fen) for e in entries] == [
        (EntryType.DONATION, 12_345, 12_345)
    ]
    async with runtime.sessionmaker() as session:
        stored = await session.get(Donation, donation.id)
        refreshed = await session.get(Project, project.id)
        handled = (
            await session.scalars(
                select(ExternalEvent).where(ExternalEvent.external_id == payload["id"])
            )
        ).one()
    assert stored is not None
    assert stored.state == DonationState.PAID
    assert stored.payment_intent_id == "pi_concurrent_50"
    assert refreshed is not None
    assert refreshed.raised_fen == 12_345
    assert handled.handled_at is not None


async def test_completed_and_intent_succeeded_concurrently_credit_once(
    stripe_client: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    donation = await make_donation(runtime, project, demo["donor"], amount_fen=50_000)
    first, second = checkout_completed(donation, "pi_race"), intent_succeeded(donation, "pi_race")
    for payload in (first, second):
        assert (await post_event(stripe_client, payload)).status_code == 200
    jobs = [*await outbox_ids(runtime, first["id"]), *await outbox_ids(runtime, second["id"])]
    assert len(jobs) == 2

    # Both jobs at once, each in its own transaction, as two workers would run them.
    results = await asyncio.gather(*(process_outbox({"runtime": runtime}, job) for job in jobs))

    assert results == ["done", "done"]
    entries = await ledger_of(runtime, project.id)
    assert [(e.entry_type, e.amount_fen) for e in entries] == [(EntryType.DONATION, 50_000)]


async def test_refund_before_its_payment_ends_with_the_right_balance(
    stripe_client: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    donation = await make_donation(runtime, project, demo["donor"], amount_fen=30_000)
    other = await make_donation(runtime, project, demo["donor"], amount_fen=20_000)
    await post_event(stripe_client, checkout_completed(other, "pi_other"))
    await drain_outbox(runtime)

    # The partial refund of 10,000 arrives first: nothing to debit yet, it waits.
    await post_event(stripe_client, charge_refunded(donation, "pi_refund_first", 10_000))
    await drain_outbox(runtime)
    assert [e.entry_type for e in await ledger_of(runtime, project.id)] == [EntryType.DONATION]
    assert (
        await count(
            runtime,
            select(PendingEffect).where(
                PendingEffect.payment_intent_id == "pi_refund_first",
                PendingEffect.applied_at.is_(None),
            ),
        )
        == 1
    )

    # Then the payment: credited, and the waiting refund is booked right after it.
    await post_event(stripe_client, checkout_completed(donation, "pi_refund_first"))
    await drain_outbox(runtime)
    entries = await ledger_of(runtime, project.id)
    assert [(e.entry_type, e.amount_fen, e.balance_after_fen) for e in entries] == [
        (EntryType.DONATION, 20_000, 20_000),
        (EntryType.DONATION, 30_000, 50_000),
        (EntryType.REFUND, -10_000, 40_000),
    ]
    async with runtime.sessionmaker() as session:
        refreshed = await session.get(Project, project.id)
        stored = await session.get(Donation, donation.id)
    assert refreshed is not None
    assert refreshed.raised_fen == 40_000
    assert stored is not None
    assert stored.state == DonationState.REFUNDED

    # The same refund again (Stripe retries) changes nothing.
    await post_event(stripe_client, charge_refunded(donation, "pi_refund_first", 10_000))
    await drain_outbox(runtime)
    assert len(await ledger_of(runtime, project.id)) == 3


async def test_dispute_and_async_failure(stripe_client: Any, runtime: Any, demo: Any) -> None:
    project = await make_project(runtime, demo)
    paid = await make_donation(runtime, project, demo["donor"], amount_fen=8_000)
    failing = await make_donation(runtime, project, demo["donor"], amount_fen=9_000)
    await post_event(stripe_client, checkout_completed(paid, "pi_disputed"))
    await post_event(stripe_client, checkout_completed(failing, "pi_async", paid=False))
    await post_event(
        stripe_client,
        checkout_completed(
            failing, "pi_async", paid=False, event_type="checkout.session.async_payment_failed"
        ),
    )
    await drain_outbox(runtime)
    await post_event(stripe_client, dispute_created("pi_disputed", 8_000))
    await drain_outbox(runtime)
    entries = await ledger_of(runtime, project.id)
    assert [(e.entry_type, e.amount_fen, e.balance_after_fen) for e in entries] == [
        (EntryType.DONATION, 8_000, 8_000),
        (EntryType.DISPUTE, -8_000, 0),
    ]
    async with runtime.sessionmaker() as session:
        assert (await session.get(Donation, paid.id)).state == DonationState.DISPUTED  # type: ignore[union-attr]
        assert (await session.get(Donation, failing.id)).state == DonationState.FAILED  # type: ignore[union-attr]


async def test_rejected_requests_write_nothing(stripe_client: Any, runtime: Any, demo: Any) -> None:
    project = await make_project(runtime, demo)
    donation = await make_donation(runtime, project, demo["donor"])
    payload = checkout_completed(donation, "pi_rejected")
    before = await count(runtime, select(ExternalEvent))
    outbox_before = await count(runtime, select(OutboxEvent))

    body, header = sign(payload)
    tampered = body.replace(str(donation.amount_fen).encode(), b"99999999", 1)
    assert tampered != body
    old_body, old_header = sign(payload, timestamp=int(time.time()) - 301)
    other_body, other_header = sign(payload, secret="whsec_someone_else")
    cases = {
        "tampered body": (tampered, {"stripe-signature": header}),
        "timestamp 301 s old": (old_body, {"stripe-signature": old_header}),
        "missing header": (body, {}),
        "wrong secret": (other_body, {"stripe-signature": other_header}),
    }
    for name, (content, headers) in cases.items():
        response = await stripe_client.post(
            "/webhooks/stripe",
            content=content,
            headers={**headers, "content-type": "application/json"},
        )
        assert response.status_code == 400, name

    # 300 s old is still inside the tolerance.
    fresh_body, edge_header = sign(payload, timestamp=int(time.time()) - 295)
    assert (
        await stripe_client.post(
            "/webhooks/stripe", content=fresh_body, headers={"stripe-signature": edge_header}
        )
    ).status_code == 200
    assert await count(runtime, select(ExternalEvent)) == before + 1
    assert await count(runtime, select(OutboxEvent)) == outbox_before + 1
    async with runtime.sessionmaker() as session:
        assert (
            await session.scalars(select(LedgerEntry).where(LedgerEntry.project_id == project.id))
        ).all() == []


async def test_no_secret_configured_answers_404(client: Any) -> None:
    body, header = sign(
        {"id": "evt_x", "type": "checkout.session.completed", "data": {"object": {}}}
    )
    response = await client.post(
        "/webhooks/stripe", content=body, headers={"stripe-signature": header}
    )
    assert response.status_code == 404


async def test_unhandled_event_types_are_acknowledged_not_stored(
    stripe_client: Any, runtime: Any
) -> None:
    before = await count(runtime, select(ExternalEvent))
    payload = {
        "id": "evt_customer_1",
        "object": "event",
        "type": "customer.created",
        "data": {"object": {}},
    }
    response = await post_event(stripe_client, payload)
    assert response.status_code == 200
    assert response.json()["stored"] is False
    assert await count(runtime, select(ExternalEvent)) == before
