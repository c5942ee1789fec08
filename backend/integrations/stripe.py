"""Payments: the only module importing the ``stripe`` SDK.

``PaymentProvider`` is what the donations domain uses; ``StripePaymentProvider`` talks to Stripe
(production), ``OfflinePaymentProvider`` is the embedded default where donors pledge and the
receiving organization confirms the transfer. ``payment_provider()`` picks one from settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import stripe

from backend.config import Settings


class SignatureInvalidError(Exception):
    """The webhook body or its ``Stripe-Signature`` header failed verification."""


class PaymentsUnavailableError(Exception):
    """The provider cannot take card/Alipay/WeChat payments (offline mode, or Stripe failed)."""


@dataclass(frozen=True)
class CheckoutRequest:
    """Only ids and amounts travel to Stripe: never household or donor personal data."""

    donation_id: str
    project_id: str
    amount_fen: int
    product_name: str
    success_url: str
    cancel_url: str
    idempotency_key: str
    locale: str = "zh"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified or listed event: its id, type and the raw JSON object as Stripe sent it."""

    id: str
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class BalanceMovement:
    """A balance transaction (charge or refund) with what booking it needs."""

    id: str
    type: str
    amount_fen: int
    payment_intent_id: str | None
    donation_id: str | None
    refund_total_fen: int = 0


class PaymentProvider(Protocol):
    name: str

    @property
    def online(self) -> bool: ...

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent: ...

    async def list_events(self, *, since: datetime, types: list[str]) -> list[ProviderEvent]: ...

    async def list_balance_movements(self, *, since: datetime) -> list[BalanceMovement]: ...


class OfflinePaymentProvider:
    """Embedded footprint: no card payments; offline pledges are confirmed by the organization."""

    name = "offline"

    @property
    def online(self) -> bool:
        return False

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        raise PaymentsUnavailableError("online payment is not configured")

    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent:
        raise SignatureInvalidError("no webhook secret configured")

    async def list_events(self, *, since: datetime, types: list[str]) -> list[ProviderEvent]:
        return []

    async def list_balance_movements(self, *, since: datetime) -> list[BalanceMovement]:
        return []


def _plain(obj: Any) -> Any:
    """A StripeObject (or anything JSON-like) as plain dicts and lists."""
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return json.loads(json.dumps(obj, default=str))


class HTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, sending the encoded form as ``content=`` (httpx deprecates
    ``data=`` with a string body). ``transport`` lets tests answer at the HTTP boundary."""

    def __init__(self, *, timeout: float = 20, transport: Any = None) -> None:
        super().__init__(timeout=timeout)
        if transport is not None:
            self._client_async = self.httpx.AsyncClient(transport=transport)

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return args, kwargs


class StripePaymentProvider:
    """Stripe Checkout (CNY: card, Alipay, WeChat Pay) and signed webhooks."""

    name = "stripe"

    def __init__(
        self, secret_key: str, webhook_secret: str, *, http_client: stripe.HTTPClient | None = None
    ) -> None:
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(
            secret_key,
            http_client=http_client or HTTPXClient(),
            max_network_retries=2,
        )

    @property
    def online(self) -> bool:
        return True

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"donation_id": request.donation_id, "project_id": request.project_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "currency": "cny",
            "payment_method_types": ["card", "alipay", "wechat_pay"],
            "payment_method_options": {"wechat_pay": {"client": "web"}},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "cny",
                        "unit_amount": request.amount_fen,
                        "product_data": {"name": request.product_name[:120]},
                    },
                }
            ],
            "client_reference_id": request.donation_id,
            "metadata": metadata,
            # Copied onto the PaymentIntent and its charges: refunds and disputes find the donation.
            "payment_intent_data": {"metadata": metadata},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "locale": request.locale,
        }
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]  # the SDK's TypedDict is stricter than needed
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise PaymentsUnavailableError(str(exc)) from exc
        return CheckoutSession(id=str(session.id), url=str(session.url))

    def verify_event(self, body: bytes, signature: str | None) -> ProviderEvent:
        return verify_webhook(body, signature, self.webhook_secret)

    async def list_events(self, *, since: datetime, types: list[str]) -> list[ProviderEvent]:
        page = await self.client.v1.events.list_async(
            params={"created": {"gte": int(since.timestamp())}, "types": types, "limit": 100}
        )
        return [
            ProviderEvent(id=str(event.id), type=str(event.type), payload=_plain(event))
            async for event in page.auto_paging_iter()
        ]

    async def list_balance_movements(self, *, since: datetime) -> list[BalanceMovement]:
        moves: list[BalanceMovement] = []
        page = await self.client.v1.balance_transactions.list_async(
            params={
                "created": {"gte": int(since.timestamp())},
                "limit": 100,
                "expand": ["data.source"],
            }
        )
        async for txn in page.auto_paging_iter():
            data = _plain(txn)
            if data.get("type") not in {"charge", "payment", "refund", "payment_refund"}:
                continue
            source = data.get("source") if isinstance(data.get("source"), Mapping) else {}
            metadata = source.get("metadata") or {}
            intent = source.get("payment_intent")
            if data["type"] in {"refund", "payment_refund"}:
                charge = source.get("charge")
                intent = source.get("payment_intent") or (
                    charge.get("payment_intent") if isinstance(charge, Mapping) else None
                )
            moves.append(
                BalanceMovement(
                    id=str(data["id"]),
                    type="refund" if data["type"] in {"refund", "payment_refund"} else "charge",
                    amount_fen=abs(int(data.get("amount") or 0)),
                    payment_intent_id=str(intent) if intent else None,
                    donation_id=metadata.get("donation_id"),
                    refund_total_fen=int(source.get("amount_refunded") or 0),
                )
            )
        return moves


TOLERANCE_SECONDS = 300


def verify_webhook(body: bytes, signature: str | None, secret: str) -> ProviderEvent:
    """Check ``Stripe-Signature`` on the raw body (300 s tolerance) and parse the event."""
    try:
        event = stripe.Webhook.construct_event(body, signature, secret, tolerance=TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise SignatureInvalidError(str(exc)) from exc
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise SignatureInvalidError("the event is not a JSON object")
    return ProviderEvent(id=str(event.id), type=str(event.type), payload=payload)


def payment_provider(settings: Settings) -> PaymentProvider:
    """Stripe when both its keys are set, the offline provider otherwise."""
    if settings.stripe_enabled:
        assert settings.stripe_secret_key
        assert settings.stripe_webhook_secret
        return StripePaymentProvider(settings.stripe_secret_key, settings.stripe_webhook_secret)
    return OfflinePaymentProvider()
