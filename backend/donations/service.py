"""Donations and the public ledger: pledges, Stripe payments, refunds, disbursements.

Every booking locks the project row first (``SELECT … FOR UPDATE``) and computes the new
balance under that lock; the database keeps ``balance_after_fen >= 0`` and one entry per
(payment intent, entry type) and per credited donation, so a booking happens once whatever
order or how often Stripe's events arrive. Services flush and never commit.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import OrgRole, Role
from backend.audit.service import Actor, record
from backend.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.donations import repository as repo
from backend.donations.models import (
    BankAccountState,
    Disbursement,
    DisbursementState,
    Donation,
    DonationChannel,
    DonationState,
    EntryType,
    LedgerEntry,
    OrgBankAccount,
)
from backend.donations.storage import ReceiptStorage
from backend.grievance import service as grievance
from backend.households import service as households
from backend.integrations.stripe import CheckoutRequest, PaymentProvider, PaymentsUnavailableError
from backend.organizations.scope import approved_organization
from backend.outbox.service import emit, record_change
from backend.projects import service as projects
from backend.projects.models import Project, ProjectState

log = logging.getLogger(__name__)

PRESETS_FEN = (5_000, 10_000, 20_000, 50_000, 100_000)
MAX_DONATION_FEN = 100_000_000  # one million yuan: larger gifts go through the organization
DONATION_NAMESPACE = uuid.UUID("6f1f7a52-3c7e-4b8e-9a51-0d1c6a3f2b10")
MESSAGE_MAX = 500


def actor_of(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id)


def parse_yuan(text: str) -> int:
    """ "50" / "50.5" / "¥1,000.00" → fen, with Decimal (never float); 422 when it is not money."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise Invalid(
            N_("Enter an amount in yuan, for example 50 or 50.5."), fields={"amount": "invalid"}
        )
    if value.as_tuple().exponent < -2:  # type: ignore[operator]  # finite, so an int
        raise Invalid(N_("Amounts have at most two decimals (fen)."), fields={"amount": "invalid"})
    fen = int(value * 100)
    if fen > MAX_DONATION_FEN:
        raise Invalid(
            N_(
                "Online gifts are limited to ¥1,000,000. Contact the organization for larger gifts."
            ),
            fields={"amount": "too_large"},
        )
    return fen


def blocked_reason(project: Project, *, paused: bool = False) -> str | None:
    """Why the project takes no donations now (a message id), or None when it does.

    ``paused``: a coordinator paused donations while a fraud report about it is reviewed. The
    project's own rules (state, target, overdue report) are ``projects.service.donation_block``.
    """
    if paused:
        return N_("Donations to this project are paused while a report about it is reviewed.")
    return projects.donation_block(project)


NO_WAY_TO_PAY = N_(
    "This organization cannot take donations yet: its bank account has not been checked by "
    "the platform."
)


@dataclass(frozen=True)
class DonationOptions:
    """Whether and how a project takes donations now, as the donate button and form show it."""

    blocked: str | None  # a message id: why no donation is possible; None when one is
    online: bool  # online payment (Stripe) is offered
    account: OrgBankAccount | None  # the organization's verified account: offline pledges

    @property
    def possible(self) -> bool:
        return self.blocked is None


async def donation_options(
    session: AsyncSession, project: Project, provider: PaymentProvider
) -> DonationOptions:
    """One answer for the project page, the ledger, the donate form and the API.

    A donation is possible when the project itself allows it (``blocked_reason``) and there is
    a way to pay: online payment, or a bank account a platform administrator verified.
    """
    paused = await grievance.donations_paused(session, project.id)
    account = await repo.verified_bank_account(session, project.organization_id)
    blocked = blocked_reason(project, paused=paused)
    if blocked is None and not provider.online and account is None:
        blocked = NO_WAY_TO_PAY
    return DonationOptions(blocked=blocked, online=provider.online, account=account)


async def visible_project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    """Projects are public once they left the draft state."""
    project = await repo.project(session, project_id)
    if project is None or project.state == ProjectState.DRAFT:
        raise NotFound(N_("Project not found."))
    return project


def is_member(user: CurrentUser | None, project: Project) -> bool:
    return user is not None and user.org_role(project.organization_id) is not None


async def managed_project(
    session: AsyncSession, actor: CurrentUser, project_id: uuid.UUID
) -> Project:
    """The project, for a member of its organization; 404 for anyone else."""
    project = await repo.project(session, project_id)
    if project is None or not is_member(actor, project):
        raise NotFound(N_("Project not found."))
    return project


# --- giving -----------------------------------------------------------------------------------


async def start_donation(
    session: AsyncSession,
    actor: CurrentUser,
    *,
    project_id: uuid.UUID,
    amount_fen: int,
    anonymous: bool,
    message: str,
    channel: DonationChannel,
    submission: str,
    provider: PaymentProvider,
    settings: Settings,
    locale: str = "zh_CN",
) -> tuple[Donation, str | None]:
    """Create the donation (or find it again for the same form submission).

    Returns the donation and, for Stripe, the Checkout URL. The donation id derives from the
    donor and the form's one-time token, and the Checkout idempotency key from the donation:
    a double click or a retried request creates one donation and one Checkout Session.
    """
    project = await visible_project(session, project_id)
    if not 0 < amount_fen <= MAX_DONATION_FEN:
        raise Invalid(
            N_("Enter an amount in yuan, for example 50 or 50.5."), fields={"amount": "invalid"}
        )
    if channel == DonationChannel.STRIPE and not provider.online:
        raise Conflict(N_("Online payment is not available here. Pledge a bank transfer instead."))
    if (
        channel == DonationChannel.OFFLINE
        and await repo.verified_bank_account(session, project.organization_id) is None
    ):
        raise Conflict(
            N_(
                "Bank transfers are not possible yet: the organization's bank account has not "
                "been checked by the platform."
            )
        )
    try:
        token = uuid.UUID(submission)
    except ValueError as exc:
        raise Invalid(
            N_("Your form expired. Go back, reload the page and submit it again.")
        ) from exc
    donation_id = uuid.uuid5(DONATION_NAMESPACE, f"{actor.id}:{token}")
    donation = await get_by_id(session, Donation, donation_id)
    if donation is None:
        paused = await grievance.donations_paused(session, project.id)
        if (reason := blocked_reason(project, paused=paused)) is not None:
            raise Conflict(reason)
        donation = Donation(
            id=donation_id,
            project_id=project.id,
            donor_id=actor.id,
            amount_fen=amount_fen,
            channel=channel,
            state=DonationState.PENDING,
            anonymous=anonymous,
            display_name="" if anonymous else actor.display_name[:100],
            message=message.strip()[:MESSAGE_MAX],
            expires_at=(utcnow() + timedelta(days=settings.pledge_expiry_days))
            if channel == DonationChannel.OFFLINE
            else None,
        )
        session.add(donation)
        await session.flush()
        await record(
            session,
            actor=actor_of(actor),
            action="donation.created",
            object_type="donation",
            object_id=donation.id,
            region_code=project.region_code,
            detail={
                "channel": channel.value,
                "amount_fen": amount_fen,
                "project_id": str(project.id),
            },
        )
        await emit(
            session,
            topic="donation.pledged" if channel == DonationChannel.OFFLINE else "donation.started",
            aggregate_type="donation",
            aggregate_id=donation.id,
            payload={
                "project_id": str(project.id),
                "amount_fen": amount_fen,
                "channel": channel.value,
            },
        )
    elif donation.donor_id != actor.id:
        raise NotFound(N_("Donation not found."))
    if donation.channel != DonationChannel.STRIPE:
        return donation, None
    if donation.state != DonationState.PENDING:
        return donation, None
    base = settings.base_url.rstrip("/")
    try:
        checkout = await provider.create_checkout(
            CheckoutRequest(
                donation_id=str(donation.id),
                project_id=str(project.id),
                amount_fen=donation.amount_fen,
                product_name=project.title,
                success_url=f"{base}/donations/{donation.id}/success?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{base}/donations/{donation.id}/cancel",
                idempotency_key=f"tongxin-checkout-{donation.id}",
                locale="zh" if locale == "zh_CN" else "en",
            )
        )
    except PaymentsUnavailableError as exc:
        log.warning("Stripe Checkout failed for donation %s: %s", donation.id, exc)
        raise Conflict(
            N_("The payment service did not answer. Please try again in a moment.")
        ) from exc
    donation.stripe_session_id = checkout.id
    await session.flush()
    return donation, checkout.url


async def donation_for(
    session: AsyncSession, actor: CurrentUser, donation_id: uuid.UUID
) -> tuple[Donation, Project]:
    """The donor's own donation, or one of a project of the actor's organization."""
    donation = await get_by_id(session, Donation, donation_id)
    project = await repo.project(session, donation.project_id) if donation else None
    if (
        donation is None
        or project is None
        or not (donation.donor_id == actor.id or is_member(actor, project))
    ):
        raise NotFound(N_("Donation not found."))
    return donation, project


# --- booking ----------------------------------------------------------------------------------


async def _append(
    session: AsyncSession,
    project_id: uuid.UUID,
    *,
    entry_type: EntryType,
    amount_fen: int,
    donation_id: uuid.UUID | None = None,
    payment_key: str | None = None,
    reason: str = "",
    receipt_path: str | None = None,
    booked_by: uuid.UUID | None = None,
) -> LedgerEntry:
    """Append one entry. The caller holds the project's row lock."""
    balance = await repo.balance(session, project_id)
    entry = LedgerEntry(
        id=uuid.uuid4(),
        project_id=project_id,
        entry_type=entry_type,
        amount_fen=amount_fen,
        balance_after_fen=balance + amount_fen,
        donation_id=donation_id,
        payment_intent_id=payment_key,
        reason=reason,
        receipt_path=receipt_path,
        booked_by=booked_by,
        created_at=utcnow(),
    )
    session.add(entry)
    await session.flush()
    return entry


async def book_credit(
    session: AsyncSession,
    donation_id: uuid.UUID,
    *,
    amount_fen: int,
    payment_intent_id: str | None,
    actor: Actor,
    reference: str = "",
) -> LedgerEntry | None:
    """Credit a donation once: the first caller books it, the others find it booked (None)."""
    found = await repo.project_id_of_donation(session, donation_id)
    if found is None:
        return None
    project = await repo.lock_project(session, found)
    donation = await repo.lock_donation(session, donation_id)
    if project is None or donation is None:
        return None
    if await repo.credit_entry(session, donation.id) is not None:
        return None
    if donation.state == DonationState.CANCELLED:  # the donor withdrew it first
        return None
    if payment_intent_id and await repo.entry_for(session, payment_intent_id, EntryType.DONATION):
        return None
    if amount_fen <= 0:
        return None
    entry = await _append(
        session,
        project.id,
        entry_type=EntryType.DONATION,
        amount_fen=amount_fen,
        donation_id=donation.id,
        payment_key=payment_intent_id,
        booked_by=actor.id if actor.kind == "user" else None,
    )
    donation.state = DonationState.PAID
    donation.amount_fen = amount_fen
    if payment_intent_id:
        donation.payment_intent_id = payment_intent_id
    if reference:
        donation.offline_reference = reference[:100]
        donation.confirmed_by = actor.id
    await repo.add_raised(session, project.id, amount_fen)
    await record_change(
        session,
        actor=actor,
        action="donation.booked",
        object_type="donation",
        object_id=donation.id,
        region_code=project.region_code,
        detail={
            "amount_fen": amount_fen,
            "entry_id": str(entry.id),
            "channel": donation.channel.value,
        },
        payload={
            "project_id": str(project.id),
            "entry_id": str(entry.id),
            "amount_fen": amount_fen,
        },
    )
    await _apply_open_effects(
        session,
        project,
        [
            *([payment_intent_id] if payment_intent_id else []),
            *await repo.open_effect_intents_of_project(session, project.id),
        ],
    )
    await session.flush()
    return entry


DEBIT_STATES = {EntryType.REFUND: DonationState.REFUNDED, EntryType.DISPUTE: DonationState.DISPUTED}


async def book_debit(
    session: AsyncSession,
    *,
    payment_intent_id: str,
    entry_type: EntryType,
    amount_fen: int,
    external_event_id: uuid.UUID | None,
) -> LedgerEntry | None:
    """A refund or dispute from Stripe. Waits as a pending effect until its payment is credited."""
    await repo.add_pending_effect(
        session,
        payment_intent_id=payment_intent_id,
        entry_type=entry_type,
        amount_fen=amount_fen,
        external_event_id=external_event_id,
        note="waiting for the payment",
    )
    donation = await repo.donation_by_intent(session, payment_intent_id)
    if donation is None:
        return None  # the payment is not credited yet; book_credit applies it
    project = await repo.lock_project(session, donation.project_id)
    assert project is not None
    booked = await _apply_open_effects(session, project, [payment_intent_id])
    return booked[0] if booked else None


async def _apply_open_effects(
    session: AsyncSession, project: Project, intents: list[str]
) -> list[LedgerEntry]:
    """Book waiting refunds/disputes of these payment intents while the balance covers them."""
    booked: list[LedgerEntry] = []
    for effect in await repo.open_effects(session, payment_intent_ids=sorted(set(intents))):
        donation = await repo.donation_by_intent(session, effect.payment_intent_id)
        if donation is None or donation.project_id != project.id:
            continue
        existing = await repo.entry_for(session, effect.payment_intent_id, effect.entry_type)
        if existing is not None:
            effect.applied_at, effect.ledger_entry_id, effect.note = utcnow(), existing.id, "booked"
            continue
        amount = min(effect.amount_fen, donation.amount_fen)
        if await repo.balance(session, project.id) < amount:
            effect.note = "waiting: the balance does not cover it"
            log.warning(
                "%s of %s waits: project %s balance too low",
                effect.entry_type,
                effect.payment_intent_id,
                project.id,
            )
            continue
        entry = await _append(
            session,
            project.id,
            entry_type=effect.entry_type,
            amount_fen=-amount,
            donation_id=donation.id,
            payment_key=effect.payment_intent_id,
        )
        effect.applied_at, effect.ledger_entry_id, effect.note = utcnow(), entry.id, "booked"
        donation.state = DEBIT_STATES.get(effect.entry_type, donation.state)
        await repo.add_raised(session, project.id, -amount)
        action = f"donation.{effect.entry_type.value}_booked"
        await record_change(
            session,
            actor=Actor.system(),
            action=action,
            object_type="donation",
            object_id=donation.id,
            region_code=project.region_code,
            detail={"amount_fen": -amount, "entry_id": str(entry.id)},
            payload={
                "project_id": str(project.id),
                "entry_id": str(entry.id),
                "amount_fen": -amount,
            },
        )
        booked.append(entry)
    await session.flush()
    return booked


async def mark_failed(session: AsyncSession, donation_id: uuid.UUID) -> bool:
    donation = await repo.lock_donation(session, donation_id)
    if donation is None or donation.state != DonationState.PENDING:
        return False
    donation.state = DonationState.FAILED
    await record_change(
        session,
        actor=Actor.system(),
        action="donation.failed",
        object_type="donation",
        object_id=donation.id,
    )
    await session.flush()
    return True


# --- offline pledges ---------------------------------------------------------------------------


async def confirm_pledge(
    session: AsyncSession, actor: CurrentUser, donation_id: uuid.UUID, *, reference: str
) -> LedgerEntry:
    """The receiving organization confirms the transfer arrived; this books the credit."""
    donation = await get_by_id(session, Donation, donation_id)
    project = await repo.project(session, donation.project_id) if donation else None
    if donation is None or project is None or not is_member(actor, project):
        raise NotFound(N_("Donation not found."))
    if donation.channel != DonationChannel.OFFLINE:
        raise Conflict(N_("Only offline pledges are confirmed by hand."))
    if not reference.strip():
        raise Invalid(
            N_("Enter the bank or receipt reference of the transfer."),
            fields={"reference": "required"},
        )
    if donation.state != DonationState.PENDING:
        raise Conflict(N_("This pledge was confirmed or closed already."))
    entry = await book_credit(
        session,
        donation.id,
        amount_fen=donation.amount_fen,
        payment_intent_id=None,
        actor=actor_of(actor),
        reference=reference.strip(),
    )
    if entry is None:  # a colleague confirmed it at the same moment
        raise Conflict(N_("This pledge was confirmed or closed already."))
    return entry


async def cancel_pledge(
    session: AsyncSession, actor: CurrentUser, donation_id: uuid.UUID
) -> Donation:
    """The donor withdraws an offline pledge nobody confirmed yet.

    Locks like a confirmation (project, then donation), so a confirmation and a cancellation at
    the same moment are serialized: the second finds the state changed and gets 409.
    """
    found = await get_by_id(session, Donation, donation_id)
    if found is None or found.donor_id != actor.id:
        raise NotFound(N_("Donation not found."))
    project = await repo.lock_project(session, found.project_id)
    donation = await repo.lock_donation(session, donation_id)
    assert project is not None
    assert donation is not None
    if donation.channel != DonationChannel.OFFLINE:
        raise Conflict(N_("Only a bank transfer pledge can be cancelled here."))
    if donation.state != DonationState.PENDING:
        raise Conflict(N_("This pledge was confirmed or closed already."))
    donation.state = DonationState.CANCELLED
    await record_change(
        session,
        actor=actor_of(actor),
        action="donation.cancelled",
        object_type="donation",
        object_id=donation.id,
        region_code=project.region_code,
        detail={"amount_fen": donation.amount_fen},
        payload={"project_id": str(project.id), "amount_fen": donation.amount_fen},
    )
    await session.flush()
    return donation


async def expire_pledges(session: AsyncSession) -> int:
    """Offline pledges nobody confirmed in time are closed (``pledge_expiry_days``)."""
    count = 0
    for donation in await repo.expired_pledges(session, utcnow()):
        donation.state = DonationState.EXPIRED
        await record_change(
            session,
            actor=Actor.system(),
            action="donation.expired",
            object_type="donation",
            object_id=donation.id,
            payload={"project_id": str(donation.project_id)},
        )
        count += 1
    await session.flush()
    return count


# --- disbursements and adjustments --------------------------------------------------------------


async def request_disbursement(
    session: AsyncSession,
    actor: CurrentUser,
    project_id: uuid.UUID,
    *,
    amount_fen: int,
    purpose: str,
    receipt: bytes,
    content_type: str,
    storage: ReceiptStorage,
) -> Disbursement:
    project = await managed_project(session, actor, project_id)
    if not purpose.strip():
        raise Invalid(N_("Say what the money pays for."), fields={"purpose": "required"})
    await households.check_organization_text(
        session, project.organization_id, {"purpose": purpose.strip()[:1000]}
    )
    receipt_path = storage.save(receipt, content_type)
    disbursement = Disbursement(
        id=uuid.uuid4(),
        project_id=project.id,
        amount_fen=amount_fen,
        purpose=purpose.strip()[:1000],
        receipt_path=receipt_path,
        state=DisbursementState.REQUESTED,
        requested_by=actor.id,
    )
    session.add(disbursement)
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action="disbursement.requested",
        object_type="disbursement",
        object_id=disbursement.id,
        region_code=project.region_code,
        detail={"amount_fen": amount_fen, "project_id": str(project.id)},
        payload={"project_id": str(project.id), "amount_fen": amount_fen},
    )
    return disbursement


async def decide_disbursement(
    session: AsyncSession, actor: CurrentUser, disbursement_id: uuid.UUID, *, approve: bool
) -> Disbursement:
    """Four eyes: a second member of the organization approves; approval books the entry."""
    found = await get_by_id(session, Disbursement, disbursement_id)
    project = await repo.project(session, found.project_id) if found else None
    if found is None or project is None or not is_member(actor, project):
        raise NotFound(N_("Disbursement not found."))
    project = await repo.lock_project(session, project.id)
    disbursement = await repo.lock_disbursement(session, disbursement_id)
    assert project is not None
    assert disbursement is not None
    if disbursement.requested_by == actor.id:
        raise Forbidden(
            N_("Another member of the organization must approve your own request (four eyes).")
        )
    if disbursement.state != DisbursementState.REQUESTED:
        raise Conflict(N_("This request was decided already."))
    disbursement.approved_by = actor.id
    if approve:
        if await repo.balance(session, project.id) < disbursement.amount_fen:
            raise Conflict(N_("The project's balance does not cover this disbursement."))
        entry = await _append(
            session,
            project.id,
            entry_type=EntryType.DISBURSEMENT,
            amount_fen=-disbursement.amount_fen,
            reason=disbursement.purpose,
            receipt_path=disbursement.receipt_path,
            booked_by=actor.id,
        )
        disbursement.ledger_entry_id = entry.id
        disbursement.state = DisbursementState.APPROVED
    else:
        disbursement.state = DisbursementState.REJECTED
    action = f"disbursement.{disbursement.state.value}"
    await record_change(
        session,
        actor=actor_of(actor),
        action=action,
        object_type="disbursement",
        object_id=disbursement.id,
        region_code=project.region_code,
        detail={"amount_fen": disbursement.amount_fen},
        payload={"project_id": str(project.id), "amount_fen": disbursement.amount_fen},
    )
    await session.flush()
    return disbursement


async def book_adjustment(
    session: AsyncSession,
    actor: CurrentUser,
    project_id: uuid.UUID,
    *,
    amount_fen: int,
    reason: str,
) -> LedgerEntry:
    """A correction by an organization administrator: signed amount, reason required."""
    project = await managed_project(session, actor, project_id)
    if actor.org_role(project.organization_id) != OrgRole.ADMIN:
        raise Forbidden(N_("Only an administrator of the organization can book an adjustment."))
    if not reason.strip():
        raise Invalid(N_("Give the reason for the adjustment."), fields={"reason": "required"})
    await households.check_organization_text(
        session, project.organization_id, {"reason": reason.strip()[:1000]}
    )
    if amount_fen == 0:
        raise Invalid(
            N_("Enter an amount in yuan, for example 50 or 50.5."), fields={"amount": "invalid"}
        )
    locked = await repo.lock_project(session, project.id)
    assert locked is not None
    project = locked
    if await repo.balance(session, project.id) + amount_fen < 0:
        raise Conflict(N_("The balance of a project can never go below zero."))
    entry = await _append(
        session,
        project.id,
        entry_type=EntryType.ADJUSTMENT,
        amount_fen=amount_fen,
        reason=reason.strip()[:1000],
        booked_by=actor.id,
    )
    await record_change(
        session,
        actor=actor_of(actor),
        action="ledger.adjusted",
        object_type="ledger_entry",
        object_id=entry.id,
        region_code=project.region_code,
        detail={"amount_fen": amount_fen},
        payload={"project_id": str(project.id), "amount_fen": amount_fen},
    )
    return entry


def public_name(donation: Donation | None) -> str | None:
    """The donor's name as the public ledger may show it (None: anonymous or no donor)."""
    if donation is None or donation.anonymous or not donation.display_name:
        return None
    return donation.display_name


def summary(donation: Donation) -> dict[str, Any]:
    return {
        "id": str(donation.id),
        "state": donation.state.value,
        "amount_fen": donation.amount_fen,
    }


async def disbursement_receipt(
    session: AsyncSession, user: CurrentUser | None, disbursement_id: uuid.UUID
) -> Disbursement:
    """A disbursement whose receipt this user may see: anyone once approved (the public
    ledger), the project's members before; 404 otherwise."""
    disbursement = await get_by_id(session, Disbursement, disbursement_id)
    project = await repo.project(session, disbursement.project_id) if disbursement else None
    if (
        disbursement is None
        or project is None
        or not (disbursement.state == DisbursementState.APPROVED or is_member(user, project))
    ):
        raise NotFound(N_("Receipt not found."))
    return disbursement


async def project_of_disbursement(
    session: AsyncSession, user: CurrentUser, disbursement_id: uuid.UUID
) -> Project:
    """The project a disbursement draws on, for the member who manages it."""
    found = await get_by_id(session, Disbursement, disbursement_id)
    if found is None:
        raise NotFound(N_("Receipt not found."))
    return await managed_project(session, user, found.project_id)


# --- organizations' bank accounts -----------------------------------------------------------

ACCOUNT_NUMBER = re.compile(r"^\d{8,30}$")


def normalize_account_number(text: str) -> str:
    """ "6222 0212-0000 1234" → "6222021200001234": spaces and hyphens are only for reading."""
    return re.sub(r"[\s\-]", "", text)


def mask_account_number(number: str) -> str:
    """Shown everywhere except the pledge page: the last four digits only."""
    return "•••• " + number[-4:] if len(number) > 4 else "••••"


def group_account_number(number: str) -> str:
    """Groups of four, as printed on cards and bank slips, to read and copy without mistakes."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


async def donation_account(session: AsyncSession, org_id: uuid.UUID) -> OrgBankAccount | None:
    """The account donors transfer to: only a verified one."""
    return await repo.verified_bank_account(session, org_id)


async def bank_account(session: AsyncSession, org_id: uuid.UUID) -> OrgBankAccount | None:
    """The organization's account in any state (for its own members and administrators)."""
    return await repo.bank_account_of(session, org_id)


async def submit_bank_account(
    session: AsyncSession,
    actor: CurrentUser,
    org_id: uuid.UUID,
    *,
    account_name: str,
    bank_name: str,
    account_number: str,
) -> OrgBankAccount:
    """An administrator of an approved organization records or changes its account.

    A new or changed account waits for a platform administrator's check (``submitted``);
    donors see none until it is verified. Saving the same details again changes nothing.
    """
    await approved_organization(
        session,
        actor,
        org_id,
        refusal=N_("Your organization must be approved before it can record a bank account."),
        admin_only=True,
    )
    name, bank = " ".join(account_name.split()), " ".join(bank_name.split())
    number = normalize_account_number(account_number)
    errors: dict[str, str] = {}
    if not 2 <= len(name) <= 100:
        errors["account_name"] = "required" if not name else "invalid"
    if not 2 <= len(bank) <= 100:
        errors["bank_name"] = "required" if not bank else "invalid"
    if not ACCOUNT_NUMBER.match(number):
        errors["account_number"] = "required" if not number else "invalid"
    if errors:
        raise Invalid(
            N_(
                "Please correct the marked fields. The account number has 8 to 30 digits; "
                "spaces are allowed."
            ),
            fields=errors,
        )
    await households.check_organization_text(
        session, org_id, {"account_name": name, "bank_name": bank}
    )
    account = await repo.lock_bank_account(session, org_id)
    if account is None:
        account = OrgBankAccount(
            id=uuid.uuid4(),
            organization_id=org_id,
            account_name=name,
            bank_name=bank,
            account_number=number,
            state=BankAccountState.SUBMITTED,
            submitted_by=actor.id,
            version=1,
        )
        session.add(account)
        action = "bank_account.submitted"
    elif (account.account_name, account.bank_name, account.account_number) == (
        name,
        bank,
        number,
    ) and account.state != BankAccountState.REJECTED:
        return account  # nothing changed: a verified account stays verified
    else:
        account.account_name, account.bank_name, account.account_number = name, bank, number
        account.state = BankAccountState.SUBMITTED
        account.review_note = ""
        account.reviewed_by = None
        account.reviewed_at = None
        account.submitted_by = actor.id
        account.version += 1
        action = "bank_account.changed"
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action=action,
        object_type="organization",
        object_id=org_id,
        detail={
            "account_id": str(account.id),
            "version": account.version,
            "number": mask_account_number(number),
        },
        payload={"account_id": str(account.id), "state": account.state.value},
    )
    return account


async def review_bank_account(
    session: AsyncSession,
    actor: CurrentUser,
    account_id: uuid.UUID,
    *,
    version: int,
    approve: bool,
    note: str = "",
) -> OrgBankAccount:
    """A platform administrator verifies or rejects (with a reason) the account they saw.

    ``version`` is the version the administrator's page showed: when the organization changed
    the account since, the decision is refused (409) and the new details must be checked.
    """
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(N_("Only a platform administrator can check bank accounts."))
    account = await repo.lock_bank_account_by_id(session, account_id)
    if account is None:
        raise NotFound(N_("Bank account not found."))
    if account.version != version:
        raise Conflict(
            N_("The organization changed this account after you opened the page. Check it again.")
        )
    if account.state != BankAccountState.SUBMITTED:
        raise Conflict(N_("This account was checked already."))
    reason = note.strip()[:1000]
    if not approve and not reason:
        raise Invalid(
            N_("Say why the account is rejected, so the organization can correct it."),
            fields={"note": "required"},
        )
    account.state = BankAccountState.VERIFIED if approve else BankAccountState.REJECTED
    account.review_note = "" if approve else reason
    account.reviewed_by = actor.id
    account.reviewed_at = utcnow()
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action=f"bank_account.{account.state.value}",
        object_type="organization",
        object_id=account.organization_id,
        detail={
            "account_id": str(account.id),
            "version": account.version,
            **({"reason": reason} if not approve else {}),
        },
        payload={"account_id": str(account.id), "state": account.state.value},
    )
    return account


async def waiting_bank_accounts(
    session: AsyncSession, *, state: BankAccountState = BankAccountState.SUBMITTED
) -> Sequence[tuple[OrgBankAccount, str]]:
    """Accounts in this state with their organization's name, oldest change first."""
    return await repo.bank_accounts(session, state=state)
