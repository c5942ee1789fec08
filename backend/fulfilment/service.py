"""Fulfilment: deliveries with evidence, household confirmation, feedback, the household's
record (幸福清单), visits (探访关爱) and the quarterly lists.

Services flush and never commit. Every state change writes an audit row and an outbox event
(payloads: ids, codes, states and numbers only). Outbox topics written here:

``fulfilment.opened``, ``delivery.recorded``, ``delivery.confirmed``, ``delivery.disputed``,
``feedback.given``, ``fulfilment.completed``, ``claim.fulfilled``, ``project.progress``,
``visit.scheduled``, ``visit.recorded``, ``quarterly_list.generated``,
``quarterly_list.handed_over``; and ``need.<state>`` through
:func:`backend.needs.states.transition`.

Who may see a delivery: members of the delivering organization, and caseworkers whose region
subtree holds the need's household. Everyone else gets 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Organization, Role
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.core.storage import MAX_PHOTOS, Storage, clean_photo
from backend.fulfilment import repository as repo
from backend.fulfilment.models import (
    CaseworkerReason,
    ConfirmationMethod,
    Delivery,
    DeliveryState,
    Feedback,
    Fulfilment,
    FulfilmentState,
    QuarterlyList,
    Visit,
    VisitSchedule,
)
from backend.households import service as households
from backend.households.enums import AssistanceCategory
from backend.households.models import AssistanceRecord, Household
from backend.households.schemas import CodeCheck
from backend.needs.models import Need, NeedState
from backend.needs.states import lock_need, transition
from backend.outbox.service import emit, record_change
from backend.privacy.gate import gate_public_text
from backend.privacy.scanner import scan_public_text
from backend.regions.models import Region
from backend.resources import service as resources_service
from backend.resources.models import Claim, ClaimState

MONTHLY_DAYS = 30
QUARTERLY_DAYS = 91
KEEP_AFTER_LEAVING = timedelta(days=365)
NOTE_MAX = 2000
COMMENT_MAX = 1000


def today_local() -> date:
    return households.today_local()


def _actor(user: CurrentUser, role: str | None = None) -> Actor:
    return Actor(kind="user", id=user.id, role=role)


def need_total(need: Need) -> int | None:
    return need.quantity if need.quantity is not None else need.amount_fen


def is_amount(need: Need) -> bool:
    return need.quantity is None and need.amount_fen is not None


# ---------------------------------------------------------------- access


@dataclass(frozen=True)
class DeliveryAccess:
    delivery: Delivery
    fulfilment: Fulfilment
    need: Need
    organization: Organization
    as_member: bool
    as_caseworker: bool


class DeliveryNotFound(NotFound):
    """The delivery does not exist or is not this user's to see (not a wrong code or PIN)."""


async def delivery_access(
    session: AsyncSession, user: CurrentUser, delivery_id: uuid.UUID, *, for_update: bool = False
) -> DeliveryAccess:
    """The delivery for a member of its organization or a caseworker of the household's region."""
    found = await repo.delivery_full(session, delivery_id)
    if found is None:
        raise DeliveryNotFound(N_("Delivery not found."))
    delivery, fulfilment, need, org, path = found
    member = user.org_role(org.id) is not None
    caseworker = user.covers(Role.CASEWORKER, path)
    if not (member or caseworker):
        raise DeliveryNotFound(N_("Delivery not found."))
    if for_update:
        locked = await repo.delivery_for_update(session, delivery_id)
        assert locked is not None
        delivery = locked
    return DeliveryAccess(delivery, fulfilment, need, org, member, caseworker)


def _require_fulfilment_member(user: CurrentUser, fulfilment: Fulfilment) -> None:
    if user.org_role(fulfilment.organization_id) is None:
        raise NotFound(N_("Fulfilment not found."))


async def fulfilment_view(
    session: AsyncSession, user: CurrentUser, fulfilment_id: uuid.UUID
) -> tuple[Fulfilment, Need, Organization]:
    found = await repo.fulfilment_full(session, fulfilment_id)
    if found is None or user.org_role(found[0].organization_id) is None:
        raise NotFound(N_("Fulfilment not found."))
    return found


async def claim_for_member(
    session: AsyncSession, user: CurrentUser, claim_id: uuid.UUID
) -> tuple[Claim, Need]:
    found = await resources_service.claim_detail(session, claim_id)
    if found is None or user.org_role(found[0].organization_id) is None:
        raise NotFound(N_("Claim not found."))
    return found[0], found[1]


# ---------------------------------------------------------------- fulfilments and deliveries


async def open_for_claim(
    session: AsyncSession, user: CurrentUser, claim_id: uuid.UUID
) -> Fulfilment:
    """The claim's fulfilment, opened on first use (the organization's first delivery)."""
    claim = await resources_service.claim_for_update(session, claim_id)
    if claim is None or user.org_role(claim.organization_id) is None:
        raise NotFound(N_("Claim not found."))
    existing = await repo.fulfilment_of_claim(session, claim.id)
    if existing is not None:
        return existing
    if claim.state != ClaimState.ACTIVE:
        raise Conflict(N_("This claim is not active any more."), code="claim_state")
    need = await get_by_id(session, Need, claim.need_id)
    assert need is not None
    fulfilment = Fulfilment(
        id=uuid.uuid4(),
        need_id=claim.need_id,
        organization_id=claim.organization_id,
        claim_id=claim.id,
        state=FulfilmentState.OPEN,
        promised=claim.quantity,
    )
    session.add(fulfilment)
    await session.flush()
    await record_change(
        session,
        actor=_actor(user),
        action="fulfilment.opened",
        object_type="fulfilment",
        object_id=fulfilment.id,
        region_code=need.region_code,
        detail={"claim_id": str(claim.id), "need_id": str(need.id)},
        payload={
            "claim_id": str(claim.id),
            "need_id": str(need.id),
            "organization_id": str(claim.organization_id),
        },
    )
    return fulfilment


@dataclass(frozen=True)
class DeliveryIn:
    delivered_on: date | None
    description: str
    quantity: int | None
    volunteer_minutes: int | None = 0
    notes: str = ""


async def record_delivery(
    session: AsyncSession,
    user: CurrentUser,
    fulfilment_id: uuid.UUID,
    data: DeliveryIn,
    *,
    photos: Sequence[bytes],
    storage: Storage,
) -> Delivery:
    """Record what was handed over; the need moves reserved → in progress on the first one."""
    need_id = await repo.need_id_of_fulfilment(session, fulfilment_id)
    if need_id is None:
        raise NotFound(N_("Fulfilment not found."))
    need = await lock_need(session, need_id)  # lock order: need → fulfilment (as confirming)
    fulfilment = await repo.fulfilment_for_update(session, fulfilment_id)
    assert fulfilment is not None
    _require_fulfilment_member(user, fulfilment)
    if fulfilment.state != FulfilmentState.OPEN:
        raise Conflict(
            N_("This help is completed or cancelled; no more deliveries can be recorded."),
            code="fulfilment_state",
        )
    if fulfilment.claim_id is not None:
        claim = await get_by_id(session, Claim, fulfilment.claim_id)
        if claim is None or claim.state != ClaimState.ACTIVE:
            raise Conflict(N_("This claim is not active any more."), code="claim_state")
    errors: dict[str, str] = {}
    today = today_local()
    if data.delivered_on is None:
        errors["delivered_on"] = "required"
    elif data.delivered_on > today:
        errors["delivered_on"] = "future"
    elif data.delivered_on < today - timedelta(days=366):
        errors["delivered_on"] = "too_old"
    description = " ".join(data.description.split())
    if not description:
        errors["description"] = "required"
    elif len(description) > 300:
        errors["description"] = "too_long"
    open_quantity = fulfilment.promised - await repo.counted_quantity(
        session, fulfilment.id, confirmed_only=False
    )
    if data.quantity is None:
        errors["quantity"] = "required"
    elif data.quantity < 1:
        errors["quantity"] = "too_small"
    elif data.quantity > open_quantity:
        errors["quantity"] = "too_many"
    minutes = data.volunteer_minutes or 0
    if minutes < 0 or minutes > 24 * 60 * 31:
        errors["volunteer_minutes"] = "out_of_range"
    if len(data.notes) > NOTE_MAX:
        errors["notes"] = "too_long"
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = "too_many"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    cleaned = [clean_photo(p) for p in photos]  # all checked before any is stored
    assert data.quantity is not None
    assert data.delivered_on is not None
    keys = [storage.put("deliveries", blob, ext) for blob, ext in cleaned]
    delivery = Delivery(
        id=uuid.uuid4(),
        fulfilment_id=fulfilment.id,
        delivered_on=data.delivered_on,
        description=description,
        quantity=data.quantity,
        volunteer_minutes=minutes,
        notes=data.notes.strip(),
        photos=keys,
        state=DeliveryState.RECORDED,
        recorded_by=user.id,
    )
    session.add(delivery)
    await session.flush()
    await record_change(
        session,
        actor=_actor(user),
        action="delivery.recorded",
        object_type="delivery",
        object_id=delivery.id,
        region_code=need.region_code,
        detail={
            "fulfilment_id": str(fulfilment.id),
            "quantity": delivery.quantity,
            "photos": len(keys),
            "volunteer_minutes": minutes,
        },
        payload={
            "fulfilment_id": str(fulfilment.id),
            "need_id": str(need.id),
            "organization_id": str(fulfilment.organization_id),
            "quantity": delivery.quantity,
        },
    )
    if need.state == NeedState.RESERVED:
        await transition(
            session,
            need,
            NeedState.IN_PROGRESS,
            actor=_actor(user),
            detail={"delivery_id": str(delivery.id)},
        )
    return delivery


async def photo(
    session: AsyncSession, user: CurrentUser, delivery_id: uuid.UUID, key: str, storage: Storage
) -> bytes:
    access = await delivery_access(session, user, delivery_id)
    if key not in access.delivery.photos:
        raise NotFound(N_("Photo not found."))
    data = storage.get(key)
    if data is None:
        raise NotFound(N_("Photo not found."))
    return data


# ---------------------------------------------------------------- confirmation


async def confirm_with_code(
    session: AsyncSession,
    user: CurrentUser,
    delivery_id: uuid.UUID,
    code: str,
    pin: str,
    *,
    client_ip: str,
) -> Delivery:
    """At the door: the deliverer's phone, the household's 幸福码 and its PIN.

    The deliverer alone cannot do this: the PIN is the household's, checked here and never
    returned (the answer is only right, wrong with tries left, or locked).
    """
    access = await delivery_access(session, user, delivery_id)
    if not access.as_member:
        raise DeliveryNotFound(N_("Delivery not found."))
    await _lock_rows(session, delivery_id)  # before the PIN check writes its audit entry
    check: CodeCheck = await households.verify_code_and_pin(session, code, pin, client_ip=client_ip)
    if check.household_id != access.need.household_id:
        raise Invalid(
            N_("This code belongs to another household than this delivery."),
            fields={"code": "other_household"},
        )
    return await _confirm(
        session,
        delivery_id,
        ConfirmationMethod.CODE_AND_PIN,
        Actor(kind="household", id=check.household_id),
        confirmed_by=user.id,
    )


async def waiting_at_door(
    session: AsyncSession, user: CurrentUser, code: str, *, client_ip: str
) -> list[tuple[Delivery, Need, Organization]]:
    """The deliveries of the user's organizations to the household of a scanned code that
    wait for its confirmation (the deliverer learns nothing else about the household)."""
    check = await households.household_by_code(session, code, client_ip=client_ip)
    return [
        (d, n, o)
        for d, n, o in await repo.household_deliveries(session, check.household_id)
        if d.state == DeliveryState.RECORDED and user.org_role(o.id) is not None
    ]


async def confirm_by_household(
    session: AsyncSession, delivery_id: uuid.UUID, *, household_id: uuid.UUID
) -> Delivery:
    """The household on its own phone (its self-service session): "Yes, I received it"."""
    found = await repo.delivery_full(session, delivery_id)
    if found is None or found[2].household_id != household_id:
        raise NotFound(N_("Delivery not found."))
    if found[0].state == DeliveryState.DISPUTED:
        raise Conflict(
            N_("You said you did not receive this. Your caseworker will look into it."),
            code="delivery_state",
        )
    return await _confirm(
        session,
        delivery_id,
        ConfirmationMethod.OWN_PHONE,
        Actor(kind="household", id=household_id),
        confirmed_by=None,
    )


async def confirm_by_caseworker(
    session: AsyncSession,
    user: CurrentUser,
    delivery_id: uuid.UUID,
    *,
    reason: str,
    note: str = "",
) -> Delivery:
    """Where the household cannot confirm itself: the record says the caseworker did, and why."""
    access = await delivery_access(session, user, delivery_id)
    if not access.as_caseworker:
        raise Forbidden(N_("Only the household's caseworker can confirm on its behalf."))
    try:
        why = CaseworkerReason(reason)
    except ValueError:
        raise Invalid(
            N_("Say why the household could not confirm this itself."),
            fields={"reason": "required"},
        ) from None
    note = _redact(note)[:NOTE_MAX]
    if why == CaseworkerReason.OTHER and not note:
        raise Invalid(N_("Describe the reason in a few words."), fields={"note": "required"})
    return await _confirm(
        session,
        delivery_id,
        ConfirmationMethod.CASEWORKER,
        _actor(user, "caseworker"),
        confirmed_by=user.id,
        reason=why,
        note=note,
    )


async def _lock_rows(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[tuple[Delivery, Fulfilment, Need, Organization, str], Need]:
    """Lock a confirmation's rows in the one order used everywhere: household → need (then
    fulfilment → delivery → claim), before anything is audited. Consent withdrawal takes the
    household first too, so a confirmation waits for it instead of deadlocking with it."""
    found = await repo.delivery_full(session, delivery_id)
    if found is None:
        raise NotFound(N_("Delivery not found."))
    await households.household_with_path(session, found[2].household_id, for_update=True)
    return found, await lock_need(session, found[2].id)


async def _confirm(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    method: ConfirmationMethod,
    actor: Actor,
    *,
    confirmed_by: uuid.UUID | None,
    reason: CaseworkerReason | None = None,
    note: str = "",
) -> Delivery:
    found, need = await _lock_rows(session, delivery_id)
    fulfilment = await repo.fulfilment_for_update(session, found[1].id)
    delivery = await repo.delivery_for_update(session, delivery_id)
    assert fulfilment is not None
    assert delivery is not None
    org = found[3]
    if delivery.state == DeliveryState.CONFIRMED:
        raise Conflict(N_("This delivery is confirmed already."), code="delivery_state")
    delivery.state = DeliveryState.CONFIRMED
    delivery.confirmed_at = utcnow()
    delivery.confirmation_method = method
    delivery.confirmed_by = confirmed_by
    delivery.confirmation_reason = reason
    delivery.confirmation_note = note
    need.delivered += delivery.quantity
    await record_change(
        session,
        actor=actor,
        action="delivery.confirmed",
        object_type="delivery",
        object_id=delivery.id,
        region_code=need.region_code,
        detail={
            "method": method.value,
            "quantity": delivery.quantity,
            **({"reason": reason.value} if reason else {}),
        },
        payload={
            "fulfilment_id": str(fulfilment.id),
            "need_id": str(need.id),
            "organization_id": str(fulfilment.organization_id),
            "method": method.value,
            "quantity": delivery.quantity,
            "delivered": need.delivered,
        },
    )
    project = await repo.project_of_need(session, need.id)
    session.add(
        AssistanceRecord(
            id=uuid.uuid4(),
            household_id=need.household_id,
            occurred_on=delivery.delivered_on,
            kind="project" if project else "delivery",
            summary=delivery.description,
            organization_id=org.id,
            source_type="delivery",
            source_id=delivery.id,
            amount_fen=delivery.quantity if is_amount(need) else None,
            detail={
                "organization": org.name,
                "need": need.title,
                "quantity": delivery.quantity,
                "unit": need.unit,
                "amount": is_amount(need),
                "method": method.value,
                **({"project": project.title, "project_id": str(project.id)} if project else {}),
            },
        )
    )
    confirmed = (
        await repo.counted_quantity(session, fulfilment.id, confirmed_only=True) + delivery.quantity
    )
    if confirmed >= fulfilment.promised and fulfilment.state == FulfilmentState.OPEN:
        fulfilment.state = FulfilmentState.COMPLETED
        await record_change(
            session,
            actor=actor,
            action="fulfilment.completed",
            object_type="fulfilment",
            object_id=fulfilment.id,
            region_code=need.region_code,
            payload={"need_id": str(need.id), "organization_id": str(fulfilment.organization_id)},
        )
        if fulfilment.claim_id is not None:
            claim = await resources_service.claim_for_update(session, fulfilment.claim_id)
            if claim is not None and claim.state == ClaimState.ACTIVE:
                claim.state = ClaimState.FULFILLED
                await record_change(
                    session,
                    actor=actor,
                    action="claim.fulfilled",
                    object_type="claim",
                    object_id=claim.id,
                    region_code=need.region_code,
                    payload={
                        "need_id": str(need.id),
                        "organization_id": str(claim.organization_id),
                    },
                )
    total = need_total(need)
    if total is None or need.delivered >= total:
        for target in (NeedState.DELIVERED, NeedState.CONFIRMED, NeedState.CLOSED):
            if need.state == target:
                continue
            if need.state in {
                NeedState.RESERVED,
                NeedState.IN_PROGRESS,
                NeedState.DELIVERED,
                NeedState.CONFIRMED,
            }:
                await transition(
                    session, need, target, actor=actor, detail={"delivery_id": str(delivery.id)}
                )
    if project is not None:
        linked, closed = await repo.project_need_counts(session, project.id)
        await record_change(
            session,
            actor=actor,
            action="project.progress",
            object_type="project",
            object_id=project.id,
            region_code=project.region_code,
            detail={"needs": linked, "closed": closed},
            payload={"needs": linked, "closed": closed, "delivery_id": str(delivery.id)},
        )
    await session.flush()
    return delivery


async def report_not_received(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    household_id: uuid.UUID | None = None,
    user: CurrentUser | None = None,
) -> Delivery:
    """The household says it did not receive it: flagged to its caseworker (disputed)."""
    found = await repo.delivery_full(session, delivery_id)
    if user is not None:
        access = await delivery_access(session, user, delivery_id)
        if not access.as_caseworker:
            raise Forbidden(N_("Only the household or its caseworker can report this."))
        actor = _actor(user, "caseworker")
    elif found is None or found[2].household_id != household_id:
        raise DeliveryNotFound(N_("Delivery not found."))
    else:
        actor = Actor(kind="household", id=household_id)
    assert found is not None
    need = found[2]
    delivery = await repo.delivery_for_update(session, delivery_id)
    assert delivery is not None
    if delivery.state != DeliveryState.RECORDED:
        raise Conflict(
            N_("Only a delivery that is not confirmed yet can be reported as not received."),
            code="delivery_state",
        )
    delivery.state = DeliveryState.DISPUTED
    await record_change(
        session,
        actor=actor,
        action="delivery.disputed",
        object_type="delivery",
        object_id=delivery.id,
        region_code=need.region_code,
        payload={"need_id": str(need.id), "region_code": need.region_code},
    )
    await session.flush()
    return delivery


# ---------------------------------------------------------------- feedback


def _clean_comment(comment: str) -> str:
    return " ".join(comment.split())[:COMMENT_MAX]


def _redact(note: str) -> str:
    """A caseworker's note on a confirmation made for the household: personal data blanked out
    (the note is shown to staff and the delivering organization, never needed with names)."""
    text = _clean_comment(note)
    for finding in reversed(scan_public_text(text)):
        text = text[: finding.start] + "＊" * (finding.end - finding.start) + text[finding.end :]
    return text


async def give_feedback(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    rating: int | None,
    comment: str = "",
    *,
    household_id: uuid.UUID | None = None,
    user: CurrentUser | None = None,
) -> Feedback:
    """A rating 1–5 (and a comment) on a confirmed delivery, by the household or its caseworker."""
    found = await repo.delivery_full(session, delivery_id)
    if user is not None:
        access = await delivery_access(session, user, delivery_id)
        if not access.as_caseworker:
            raise Forbidden(N_("Only the household or its caseworker can rate a delivery."))
        actor = _actor(user, "caseworker")
    elif found is None or found[2].household_id != household_id:
        raise DeliveryNotFound(N_("Delivery not found."))
    else:
        actor = Actor(kind="household", id=household_id)
    assert found is not None
    delivery, _, need, org_row, _ = found
    if delivery.state != DeliveryState.CONFIRMED:
        raise Conflict(N_("Only a confirmed delivery can be rated."), code="delivery_state")
    if rating is None or not 1 <= rating <= 5:
        raise Invalid(N_("Choose a rating from 1 to 5."), fields={"rating": "invalid"})
    if (await repo.feedback_of(session, [delivery.id])).get(delivery.id) is not None:
        raise Conflict(N_("This delivery has been rated already."), code="rated")
    comment = _clean_comment(comment)
    # Comments are shown to the organization: the public-text gate refuses personal data
    # (the household's own values included) with each span marked, instead of storing it.
    gate_public_text(
        {"comment": comment}, own_values=await households.own_values_for(session, need.household_id)
    )
    org = await get_by_id(session, Organization, org_row.id, for_update=True)
    assert org is not None
    feedback = Feedback(
        id=uuid.uuid4(),
        delivery_id=delivery.id,
        organization_id=org.id,
        rating=rating,
        comment=comment,
        via_caseworker=user.id if user else None,
    )
    session.add(feedback)
    org.rating_sum += rating
    org.rating_count += 1
    await session.flush()
    await record(
        session,
        actor=actor,
        action="feedback.given",
        object_type="delivery",
        object_id=delivery.id,
        region_code=need.region_code,
        detail={"rating": rating, "via_caseworker": user is not None},
    )
    await emit(
        session,
        topic="feedback.given",
        aggregate_type="organization",
        aggregate_id=org.id,
        payload={
            "delivery_id": str(delivery.id),
            "rating": rating,
            "rating_sum": org.rating_sum,
            "rating_count": org.rating_count,
        },
    )
    return feedback


# ---------------------------------------------------------------- the household's record


@dataclass(frozen=True)
class RecordItem:
    occurred_on: date
    kind: str  # assistance | delivery | project | visit | …
    summary: str
    organization: str = ""
    quantity: int | None = None
    unit: str = ""
    amount_fen: int | None = None
    project: str = ""
    delivery_id: uuid.UUID | None = None
    rating: int | None = None
    rateable: bool = False
    method: str = ""


@dataclass(frozen=True)
class PendingItem:
    delivery_id: uuid.UUID
    delivered_on: date
    summary: str
    organization: str
    state: str


@dataclass(frozen=True)
class HouseholdRecord:
    household_id: uuid.UUID
    category: str
    region_name: str
    items: list[RecordItem]
    pending: list[PendingItem]


async def household_record(
    session: AsyncSession,
    household_id: uuid.UUID,
    *,
    start: date | None = None,
    end: date | None = None,
) -> HouseholdRecord:
    """The 幸福清单 in time order: assistance category, deliveries, projects, visits."""
    household = await get_by_id(session, Household, household_id)
    if household is None:
        raise NotFound(N_("Household not found."))
    region = await get_by_id(session, Region, household.region_code)
    rows = await repo.records(session, household_id, start=start, end=end)
    ratings = await repo.feedback_of(
        session, [r.source_id for r in rows if r.source_type == "delivery" and r.source_id]
    )
    items: list[RecordItem] = []
    first = household.created_at.date() if household.created_at else today_local()
    if start is None or first <= (end or first):
        items.append(
            RecordItem(
                occurred_on=max(first, start) if start else first,
                kind="assistance",
                summary=household.category.value,
            )
        )
    for r in rows:
        detail: dict[str, Any] = dict(r.detail or {})
        fb = ratings.get(r.source_id) if r.source_id else None
        items.append(
            RecordItem(
                occurred_on=r.occurred_on,
                kind=r.kind,
                summary=r.summary,
                organization=str(detail.get("organization", "")),
                quantity=detail.get("quantity") if not detail.get("amount") else None,
                unit=str(detail.get("unit", "")),
                amount_fen=r.amount_fen,
                project=str(detail.get("project", "")),
                delivery_id=r.source_id if r.source_type == "delivery" else None,
                rating=fb.rating if fb else None,
                rateable=r.source_type == "delivery" and fb is None,
                method=str(detail.get("method", "")),
            )
        )
    items.sort(key=lambda i: i.occurred_on)
    pending = [
        PendingItem(d.id, d.delivered_on, d.description, o.name, d.state.value)
        for d, _, o in await repo.household_deliveries(session, household_id)
        if d.state in {DeliveryState.RECORDED, DeliveryState.DISPUTED}
    ]
    return HouseholdRecord(
        household.id, household.category.value, region.name if region else "", items, pending
    )


# ---------------------------------------------------------------- visits (探访关爱)


#: A visit schedule's interval, in days (weekly to yearly).
MIN_INTERVAL_DAYS = 7
MAX_INTERVAL_DAYS = 366


def default_interval(category: AssistanceCategory) -> int:
    """Monthly for 特困 households, quarterly for everyone else (changeable per household)."""
    return MONTHLY_DAYS if category == AssistanceCategory.TEKUN else QUARTERLY_DAYS


def still_served(household: Household, now: datetime | None = None) -> bool:
    if household.status.value == "active":
        return True
    return (
        household.left_at is not None
        and household.left_at >= (now or utcnow()) - KEEP_AFTER_LEAVING
    )


async def set_schedule(
    session: AsyncSession,
    user: CurrentUser,
    household_id: uuid.UUID,
    *,
    interval_days: int | None,
    assignee_email: str = "",
    next_due: date | None = None,
) -> VisitSchedule:
    household, _ = await households.household_for(session, user, household_id)
    errors: dict[str, str] = {}
    interval = interval_days or default_interval(household.category)
    if not MIN_INTERVAL_DAYS <= interval <= MAX_INTERVAL_DAYS:
        errors["interval_days"] = "out_of_range"
    if next_due is not None and next_due < today_local():
        errors["next_due"] = "past"
    assignee = None
    if assignee_email.strip():
        assignee = await repo.user_by_email(session, assignee_email)
        if assignee is None:
            errors["assignee_email"] = "unknown"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    schedule = await repo.schedule_of(session, household.id)
    due = next_due or today_local() + timedelta(days=interval)
    ends_on = (household.left_at + KEEP_AFTER_LEAVING).date() if household.left_at else None
    if schedule is None:
        schedule = VisitSchedule(
            id=uuid.uuid4(),
            household_id=household.id,
            interval_days=interval,
            assignee_id=assignee.id if assignee else None,
            next_due=due,
            ends_on=ends_on,
        )
        session.add(schedule)
    else:
        schedule.interval_days = interval
        schedule.assignee_id = assignee.id if assignee else None
        schedule.next_due = due
        schedule.ends_on = ends_on
    await session.flush()
    await record_change(
        session,
        actor=_actor(user, "caseworker"),
        action="visit.scheduled",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"interval_days": interval, "assigned": assignee is not None},
        payload={"interval_days": interval, "next_due": due.isoformat()},
    )
    return schedule


async def record_visit(
    session: AsyncSession,
    user: CurrentUser,
    household_id: uuid.UUID,
    *,
    visited_on: date | None,
    notes: str,
) -> Visit:
    """By a caseworker of the region or the volunteer / staff member the schedule is assigned to."""
    schedule = await repo.schedule_of(session, household_id)
    found = await households.household_with_path(session, household_id)
    if found is None:
        raise NotFound(N_("Household not found."))
    household, path = found
    caseworker = user.covers(Role.CASEWORKER, path)
    if not caseworker and (schedule is None or schedule.assignee_id != user.id):
        raise NotFound(N_("Household not found."))
    if not still_served(household):
        raise Conflict(
            N_("This household left assistance more than a year ago; visits have ended."),
            code="visits_ended",
        )
    errors: dict[str, str] = {}
    today = today_local()
    if visited_on is None:
        errors["visited_on"] = "required"
    elif visited_on > today:
        errors["visited_on"] = "future"
    elif visited_on < today - timedelta(days=366):
        errors["visited_on"] = "too_old"
    if len(notes) > NOTE_MAX:
        errors["notes"] = "too_long"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    assert visited_on is not None
    visit = Visit(
        id=uuid.uuid4(),
        household_id=household.id,
        visited_on=visited_on,
        visitor_id=user.id,
        notes=notes.strip(),
    )
    session.add(visit)
    session.add(
        AssistanceRecord(
            id=uuid.uuid4(),
            household_id=household.id,
            occurred_on=visited_on,
            kind="visit",
            summary="visit",
            source_type="visit",
            source_id=visit.id,
            detail={},
        )
    )
    if (
        schedule is not None
        and visited_on + timedelta(days=schedule.interval_days) > schedule.next_due
    ):
        schedule.next_due = visited_on + timedelta(days=schedule.interval_days)
    await session.flush()
    await record_change(
        session,
        actor=_actor(user, "caseworker" if caseworker else "visitor"),
        action="visit.recorded",
        object_type="household",
        object_id=household.id,
        region_code=household.region_code,
        detail={"visit_id": str(visit.id)},
        payload={"visit_id": str(visit.id), "visited_on": visited_on.isoformat()},
    )
    return visit


# ---------------------------------------------------------------- quarterly lists (一户一单)


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[date, date]:
    try:
        year, q = int(quarter[:4]), int(quarter[5:])
        if len(quarter) != 6 or quarter[4] != "Q" or not 1 <= q <= 4 or not 2000 <= year <= 2100:
            raise ValueError(quarter)
    except (ValueError, IndexError) as exc:
        raise Invalid(N_("Choose a quarter like 2026Q4."), fields={"quarter": "invalid"}) from exc
    start = date(year, 3 * q - 2, 1)
    end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - timedelta(days=1)
    return start, end


async def region_for_caseworker(session: AsyncSession, user: CurrentUser, code: str) -> Region:
    region = await get_by_id(session, Region, code) if code else None
    if region is None or not user.covers(Role.CASEWORKER, region.path):
        raise NotFound(N_("Region not found."))
    return region


async def save_list(
    session: AsyncSession, household_id: uuid.UUID, quarter: str, pdf: bytes, storage: Storage
) -> QuarterlyList:
    """Store the PDF and mark the household's list generated (regenerating keeps handover)."""
    row = await repo.list_for_update(session, household_id, quarter)
    key = storage.put("quarterly", pdf, "pdf")
    if row is None:
        row = QuarterlyList(id=uuid.uuid4(), household_id=household_id, quarter=quarter)
        session.add(row)
    elif row.file_path:
        storage.delete(row.file_path)
    row.file_path = key
    row.generated_at = utcnow()
    await session.flush()
    await emit(
        session,
        topic="quarterly_list.generated",
        aggregate_type="household",
        aggregate_id=household_id,
        payload={"quarter": quarter, "list_id": str(row.id)},
    )
    return row


async def list_for_caseworker(
    session: AsyncSession, user: CurrentUser, list_id: uuid.UUID
) -> QuarterlyList:
    found = await repo.list_with_path(session, list_id)
    if found is None or not user.covers(Role.CASEWORKER, found[1]):
        raise NotFound(N_("List not found."))
    return found[0]


async def hand_over(session: AsyncSession, user: CurrentUser, list_id: uuid.UUID) -> QuarterlyList:
    row = await list_for_caseworker(session, user, list_id)
    if row.handed_over_at is not None:
        raise Conflict(N_("This list was handed over already."), code="handed_over")
    if row.generated_at is None:
        raise Conflict(N_("Generate the list before handing it over."), code="not_generated")
    row.handed_over_at = utcnow()
    row.handed_over_by = user.id
    household = await get_by_id(session, Household, row.household_id)
    assert household is not None
    await record_change(
        session,
        actor=_actor(user, "caseworker"),
        action="quarterly_list.handed_over",
        object_type="household",
        object_id=row.household_id,
        region_code=household.region_code,
        detail={"quarter": row.quarter, "list_id": str(row.id)},
        payload={"quarter": row.quarter, "list_id": str(row.id)},
    )
    await session.flush()
    return row


# ---------------------------------------------------------------- the caseworker's start page

VISITS_DUE_DAYS = 7


async def count_deliveries(
    session: AsyncSession, user: CurrentUser, *, disputed: bool, cap: int | None = None
) -> int:
    """Capped count of the deliveries to the caseworker's households that the household reported
    not received (``disputed``), or that wait for its confirmation."""
    state = DeliveryState.DISPUTED if disputed else DeliveryState.RECORDED
    return await repo.count_deliveries(session, households.caseworker_paths(user), state, cap=cap)


async def count_visits(
    session: AsyncSession, user: CurrentUser, *, overdue: bool, cap: int | None = None
) -> int:
    """Capped count of visits overdue, or due within VISITS_DUE_DAYS."""
    today = today_local()
    return await repo.count_visits(
        session,
        households.caseworker_paths(user),
        today,
        utcnow(),
        None if overdue else today + timedelta(days=VISITS_DUE_DAYS),
        cap=cap,
    )


async def count_lists_pending(
    session: AsyncSession, user: CurrentUser, quarter: str, *, cap: int | None = None
) -> int:
    """Capped count of the quarter's lists generated but not handed over yet."""
    paths = households.caseworker_paths(user)
    return await repo.count_lists_pending(session, paths, quarter, cap=cap)
