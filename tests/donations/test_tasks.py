"""The daily Stripe reconciliation books exactly once what the webhooks missed."""

from __future__ import annotations

import time
from typing import Any

import backend.donations.handlers  # noqa: F401  - registers the outbox subscriber
from backend.donations.models import EntryType
from backend.donations.tasks import reconcile_stripe
from backend.integrations.stripe import StripePaymentProvider
from tests.donations.conftest import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripeAPI,
    charge_refunded,
    checkout_completed,
    ledger_of,
    make_donation,
    make_project,
)
from tests.helpers import drain_outbox


async def test_reconciliation_books_missed_payments_once(
    runtime: Any, demo: Any, fake_stripe: FakeStripeAPI
) -> None:
    project = await make_project(runtime, demo)
    by_event = await make_donation(runtime, project, demo["donor"], amount_fen=11_000)
    by_balance = await make_donation(runtime, project, demo["donor"], amount_fen=22_000)
    fake_stripe.events = [
        checkout_completed(by_event, "pi_missed_event"),
        charge_refunded(by_event, "pi_missed_event", 1_000),
    ]
    fake_stripe.balance_transactions = [
        {
            "id": "txn_1",
            "object": "balance_transaction",
            "type": "charge",
            "amount": 22_000,
            "created": int(time.time()),
            "source": {
                "id": "ch_1",
                "object": "charge",
                "payment_intent": "pi_missed_webhook",
                "amount_refunded": 0,
                "metadata": {"donation_id": str(by_balance.id)},
            },
        },
        {
            "id": "txn_2",
            "object": "balance_transaction",
            "type": "payout",
            "amount": -5_000,
            "created": int(time.time()),
            "source": "po_1",
        },
    ]
    before = runtime.services.payments
    runtime.services.payments = StripePaymentProvider(
        SECRET_KEY, WEBHOOK_SECRET, http_client=fake_stripe.http_client()
    )
    try:
        first = await reconcile_stripe({"runtime": runtime})
        await drain_outbox(runtime)
        second = await reconcile_stripe({"runtime": runtime})
        await drain_outbox(runtime)
    finally:
        runtime.services.payments = before
    assert first == {"events": 2, "movements": 1}
    assert second == {"events": 0, "movements": 0}
    entries = await ledger_of(runtime, project.id)
    assert sorted((e.entry_type, e.amount_fen, e.payment_intent_id) for e in entries) == sorted(
        [
            (EntryType.DONATION, 22_000, "pi_missed_webhook"),
            (EntryType.DONATION, 11_000, "pi_missed_event"),
            (EntryType.REFUND, -1_000, "pi_missed_event"),
        ]
    )
    assert entries[-1].balance_after_fen == 32_000
    paths = {r.url.path for r in fake_stripe.requests}
    assert paths == {"/v1/events", "/v1/balance_transactions"}


async def test_offline_mode_reconciles_nothing(runtime: Any) -> None:
    assert await reconcile_stripe({"runtime": runtime}) == {"events": 0, "movements": 0}
