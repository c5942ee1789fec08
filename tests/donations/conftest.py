"""Fixtures of the donations tests: projects and donations (committed), an app in Stripe mode,
webhook payloads signed by the ``stripe`` library's own code, and Stripe's API intercepted at
the HTTP boundary (an ``httpx.MockTransport`` inside the SDK's own ``HTTPXClient``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import func, select

from backend.config import Settings, get_settings
from backend.core.db import utcnow
from backend.donations.models import Donation, DonationChannel, DonationState, LedgerEntry
from backend.needs.models import NeedCategory
from backend.projects.models import Project, ProjectState

WEBHOOK_SECRET = "whsec_test_tongxin_0123456789abcdef"
SECRET_KEY = "sk_test_tongxin_0123456789"


def stripe_settings() -> Settings:
    base = get_settings()
    return Settings.from_env(
        stripe_secret_key=SECRET_KEY, stripe_webhook_secret=WEBHOOK_SECRET, var_dir=base.var_dir
    )


def sign(
    payload: dict[str, Any], *, timestamp: int | None = None, secret: str = WEBHOOK_SECRET
) -> tuple[bytes, str]:
    """The body and its ``Stripe-Signature`` header, computed by ``stripe.WebhookSignature``."""
    body = json.dumps(payload, separators=(",", ":"))
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=timestamp if timestamp is not None else int(time.time())
    )
    return body.encode(), header


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def checkout_completed(
    donation: Donation,
    intent: str,
    *,
    paid: bool = True,
    event_type: str = "checkout.session.completed",
) -> dict[str, Any]:
    return event(
        event_type,
        {
            "id": f"cs_test_{uuid.uuid4().hex[:20]}",
            "object": "checkout.session",
            "amount_total": donation.amount_fen,
            "currency": "cny",
            "client_reference_id": str(donation.id),
            "metadata": {"donation_id": str(donation.id), "project_id": str(donation.project_id)},
            "payment_intent": intent,
            "payment_status": "paid" if paid else "unpaid",
            "status": "complete",
        },
    )


def intent_succeeded(donation: Donation, intent: str) -> dict[str, Any]:
    return event(
        "payment_intent.succeeded",
        {
            "id": intent,
            "object": "payment_intent",
            "amount": donation.amount_fen,
            "amount_received": donation.amount_fen,
            "currency": "cny",
            "status": "succeeded",
            "metadata": {"donation_id": str(donation.id), "project_id": str(donation.project_id)},
        },
    )


def charge_refunded(donation: Donation, intent: str, amount_refunded: int) -> dict[str, Any]:
    return event(
        "charge.refunded",
        {
            "id": f"ch_{uuid.uuid4().hex[:20]}",
            "object": "charge",
            "amount": donation.amount_fen,
            "amount_refunded": amount_refunded,
            "currency": "cny",
            "payment_intent": intent,
            "refunded": True,
            "metadata": {"donation_id": str(donation.id), "project_id": str(donation.project_id)},
        },
    )


def dispute_created(intent: str, amount: int) -> dict[str, Any]:
    return event(
        "charge.dispute.created",
        {
            "id": f"dp_{uuid.uuid4().hex[:20]}",
            "object": "dispute",
            "amount": amount,
            "currency": "cny",
            "charge": f"ch_{uuid.uuid4().hex[:20]}",
            "payment_intent": intent,
            "status": "needs_response",
        },
    )


async def make_project(
    runtime: Any,
    demo: dict[str, Any],
    *,
    org: str = "charity",
    target_fen: int = 10_000_000,
    state: ProjectState = ProjectState.FUNDRAISING,
    overdue: bool = False,
    raised_fen: int = 0,
) -> Project:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    async with runtime.transaction() as session:
        await session.execute(
            pg_insert(NeedCategory)
            .values(code="housing", name_zh="住房改善", name_en="Housing")
            .on_conflict_do_nothing(index_elements=["code"])
        )
        project = Project(
            id=uuid.uuid4(),
            organization_id=demo[f"org:{org}"],
            title=f"测试项目 {uuid.uuid4().hex[:6]}",
            category="housing",
            region_code="330106" if org == "charity" else "331022",
            target_fen=target_fen,
            raised_fen=raised_fen,
            state=state,
            update_overdue=overdue,
            created_by=demo["admin"],
        )
        session.add(project)
    return project


async def make_donation(
    runtime: Any,
    project: Project,
    donor_id: uuid.UUID,
    *,
    amount_fen: int = 10_000,
    channel: DonationChannel = DonationChannel.STRIPE,
    anonymous: bool = False,
    display_name: str = "周捐赠",
) -> Donation:
    async with runtime.transaction() as session:
        donation = Donation(
            id=uuid.uuid4(),
            project_id=project.id,
            donor_id=donor_id,
            amount_fen=amount_fen,
            channel=channel,
            state=DonationState.PENDING,
            anonymous=anonymous,
            display_name="" if anonymous else display_name,
            expires_at=utcnow() + timedelta(days=14)
            if channel == DonationChannel.OFFLINE
            else None,
        )
        session.add(donation)
    return donation


async def ledger_of(runtime: Any, project_id: uuid.UUID) -> list[LedgerEntry]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.project_id == project_id)
            .order_by(LedgerEntry.created_at)
        )
        return list(rows)


async def count(runtime: Any, query: Any) -> int:
    async with runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


@dataclass
class FakeStripeAPI:
    """Answers the SDK's HTTP calls like api.stripe.com would, and records them."""

    requests: list[httpx.Request] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    balance_transactions: list[dict[str, Any]] = field(default_factory=list)
    fail_checkout: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path == "/v1/checkout/sessions":
            if self.fail_checkout:
                return httpx.Response(500, json={"error": {"type": "api_error", "message": "down"}})
            key = request.headers.get("idempotency-key", "")
            if key not in self.sessions:  # Stripe replays the first answer for a known key
                sid = f"cs_test_{uuid.uuid4().hex[:24]}"
                self.sessions[key] = {
                    "id": sid,
                    "object": "checkout.session",
                    "url": f"https://checkout.stripe.com/c/pay/{sid}",
                }
            return httpx.Response(200, json=self.sessions[key])
        if request.method == "GET" and path == "/v1/events":
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "url": "/v1/events",
                    "has_more": False,
                    "data": self.events,
                },
            )
        if request.method == "GET" and path == "/v1/balance_transactions":
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "url": "/v1/balance_transactions",
                    "has_more": False,
                    "data": self.balance_transactions,
                },
            )
        return httpx.Response(
            404, json={"error": {"type": "invalid_request_error", "message": path}}
        )

    def http_client(self) -> stripe.HTTPClient:
        from backend.integrations.stripe import HTTPXClient

        return HTTPXClient(transport=httpx.MockTransport(self.handler))

    def form(self, request: httpx.Request) -> dict[str, list[str]]:
        from urllib.parse import parse_qs

        return parse_qs(request.content.decode())


@pytest.fixture
def fake_stripe() -> FakeStripeAPI:
    return FakeStripeAPI()


@pytest.fixture(scope="session")
async def stripe_app(
    database_url: str, redis_url: str, queue_name: str, demo: dict[str, Any]
) -> Any:
    from backend.app import create_app

    return create_app(
        stripe_settings(),
        database_url=database_url,
        redis_url=redis_url,
        queue_name=queue_name,
        start_worker=False,
    )


@pytest.fixture
async def stripe_client(stripe_app: Any, fake_stripe: FakeStripeAPI) -> AsyncIterator[Any]:
    from litestar.testing import AsyncTestClient

    from backend.integrations.stripe import StripePaymentProvider

    async with AsyncTestClient(app=stripe_app, base_url="http://127.0.0.1:8000") as client:
        stripe_app.state.runtime.services.payments = StripePaymentProvider(
            SECRET_KEY, WEBHOOK_SECRET, http_client=fake_stripe.http_client()
        )
        yield client


Poster = Callable[..., Any]
