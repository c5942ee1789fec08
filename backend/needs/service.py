"""Needs: drafting, the publication pipeline, withdrawal and expiry.

Publishing runs, in order (docs/privacy.md, rules 3–5):

1. the household's verification must be valid;
2. the **personal-data scan** of the public title and text (ID numbers, phone numbers, person
   names, and this household's own stored name, phone, address and ID) — any finding blocks
   with :class:`PersonalDataFound`, which carries each span so the page can mark it;
3. **k-anonymity**: the public location (community → township → county → city) and profile
   are generalised until at least k registered households share them (``settings.k_anonymity``);
4. the **consent** check (publishing consent, and a guardian's for a household with a child).

Every state change goes through :func:`backend.needs.states.transition` (audit + outbox
``need.<state>``); creating a draft emits ``need.draft``, editing one ``need.edited``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.audit.service import Actor, record
from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.households import service as households
from backend.households.models import Household
from backend.items import service as items
from backend.needs import repository as repo
from backend.needs.models import Need, NeedCategory, NeedState, Urgency

# Read queries other domains may call (their only way into this domain's repository).
from backend.needs.repository import categories as categories
from backend.needs.repository import needs_of_household as needs_of_household
from backend.needs.repository import public_need as public_need
from backend.needs.schemas import NeedIn, NeedProgress
from backend.needs.states import lock_need, transition
from backend.outbox.service import record_change
from backend.privacy.gate import Block, PersonalDataFound, findings_of
from backend.privacy.kanon import (
    CountsIndex,
    GeneralizedProfile,
    ProfileInput,
    cells,
    household_profile,
)

__all__ = ["PersonalDataFound"]

TITLE_MAX = 120
BODY_MAX = 4000


def progress_of(need: Need, kind_unit: str = "") -> NeedProgress:
    """The need's figures; a quantity without a unit takes its item kind's (``kind_unit``)."""
    is_amount = need.quantity is None and need.amount_fen is not None
    return NeedProgress(
        total=need.quantity if need.quantity is not None else need.amount_fen,
        pledged=need.pledged,
        delivered=need.delivered,
        unit="" if is_amount else (need.unit or kind_unit),
        is_amount=is_amount,
    )


async def public_progress(session: AsyncSession, need_id: uuid.UUID) -> NeedProgress | None:
    """The figures of a publicly visible need (``None`` when it is not one), with the unit of
    its item kind when the need names none."""
    need = await get_by_id(session, Need, need_id)
    if need is None:
        return None
    kind_unit = ""
    if need.quantity is not None and not need.unit and need.item_kind:
        taxonomy = await items.taxonomy_for_region(session, need.region_code)
        kind = taxonomy.get(need.item_kind)
        kind_unit = kind.default_unit if kind is not None else ""
    return progress_of(need, kind_unit)


DUE_SOON_DAYS = 14


def _actor(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id, role="caseworker")


async def _clean(session: AsyncSession, data: NeedIn, region_code: str) -> dict[str, Any]:
    errors: dict[str, str] = {}
    category = await get_by_id(session, NeedCategory, data.category)
    if category is None:
        errors["category"] = "invalid"
    title = " ".join(data.title.split())
    if not title:
        errors["title"] = "required"
    elif len(title) > TITLE_MAX:
        errors["title"] = "too_long"
    body = data.body.strip()
    if len(body) > BODY_MAX:
        errors["body"] = "too_long"
    if data.urgency not in {u.value for u in Urgency}:
        errors["urgency"] = "invalid"
    quantity, unit, amount = data.quantity, data.unit.strip()[:16], data.amount_fen
    if category is not None and category.measure == "amount":
        if amount is None or amount <= 0:
            errors["amount_fen"] = "required"
        quantity, unit = None, ""
    else:
        if quantity is None or quantity <= 0:
            errors["quantity"] = "required"
        amount = None
    if data.deadline is not None and data.deadline < households.today_local():
        errors["deadline"] = "past"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    # The item kind: as given (it must be of the category), or inferred from the title.
    resolved = await items.resolve_for_region(
        session,
        region_code,
        category=data.category,
        title=title,
        body=body,
        item_kind=data.item_kind,
        unit=unit,
    )
    if amount is None:
        unit = resolved.unit
    return {
        "item_kind": resolved.kind,
        "item_kind_source": resolved.source.value,
        "category": data.category,
        "title": title,
        "body": body,
        "quantity": quantity,
        "unit": unit,
        "amount_fen": amount,
        "urgency": Urgency(data.urgency),
        "deadline": data.deadline,
    }


async def create_draft(
    session: AsyncSession, user: CurrentUser, household_id: uuid.UUID, data: NeedIn
) -> Need:
    household, _ = await households.household_for(session, user, household_id)
    values = await _clean(session, data, household.region_code)
    need = Need(
        id=uuid.uuid4(),
        household_id=household.id,
        region_code=household.region_code,
        state=NeedState.DRAFT,
        created_by=user.id,
        public_profile={},
        **values,
    )
    session.add(need)
    await session.flush()
    await record_change(
        session,
        actor=_actor(user),
        action="need.draft",
        object_type="need",
        object_id=need.id,
        region_code=need.region_code,
        detail={"to": "draft"},
        payload={"to": "draft"},
    )
    return need


async def need_for(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID, *, lock: bool = False
) -> tuple[Need, Household]:
    """The need if its household lies in the caseworker's subtree; 404 otherwise."""
    need = await lock_need(session, need_id) if lock else await get_by_id(session, Need, need_id)
    if need is None:
        raise NotFound(N_("Need not found."))
    household, _ = await households.household_for(session, user, need.household_id)
    return need, household


async def update_draft(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID, data: NeedIn
) -> Need:
    need, _ = await need_for(session, user, need_id, lock=True)
    if need.state != NeedState.DRAFT:
        raise Conflict(
            N_("Only a draft can be edited. Withdraw the need first."), code="need_state"
        )
    for key, value in (await _clean(session, data, need.region_code)).items():
        setattr(need, key, value)
    need.publish_blocked = None  # edited: the start page stops listing it until the next try
    await record_change(
        session,
        actor=_actor(user),
        action="need.edited",
        object_type="need",
        object_id=need.id,
        region_code=need.region_code,
    )
    await session.flush()
    return need


def scan(need: Need, household: Household) -> list[Block]:
    """Personal-data findings in the need's public title and text, for this household."""
    own = households.own_values(household)
    return findings_of({"title": need.title, "body": need.body}, own_values=own)


def profile_input(region_path: str, ages: list[int], flags: list[str]) -> ProfileInput:
    """(province, city, county, township, community); see ``kanon.household_profile``."""
    return household_profile(region_path, ages, flags)


LEVEL_NAMES = ("province", "city", "county", "township", "community")


def public_profile_json(result: GeneralizedProfile) -> dict[str, Any]:
    codes = list(result.region_path)
    while len(codes) > 1 and codes[-1] == codes[-2]:  # padding of a township-level household
        codes.pop()
    return {
        "age_bands": list(result.age_bands),
        "size_band": result.size_band,
        "flags": list(result.flags),
        "location_level": LEVEL_NAMES[len(codes) - 1],
    }


async def generalize(
    session: AsyncSession, household: Household, region_path: str, k: int
) -> GeneralizedProfile:
    """Reads the household's own k-anonymity cells (4 locations × 6 profile levels), which the
    households service keeps counted as households change: constant work whatever the city's
    size."""
    target = profile_input(region_path, household.member_ages, household.flags)
    index = CountsIndex(await households.kanon_counts(session, cells(target)))
    result = index.generalize(target, k)
    if not result.k_satisfied:
        # Flags gate eligibility for some offers, so they are kept whenever possible; a rare
        # combination that no city-wide group of k shares is published without them instead.
        result = index.generalize(target, k, drop_flags=True)
    return result


async def save_and_publish(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID, data: NeedIn
) -> Need:
    """Publish what the edit form holds, not the draft saved before it: the edit is saved, then
    it passes the same gate as `publish`. When either refuses, the request fails and nothing of
    it stays (the edit included); the form shows the typed text again with the reason."""
    await update_draft(session, user, need_id, data)
    return await publish(session, user, need_id)


async def publish(session: AsyncSession, user: CurrentUser, need_id: uuid.UUID) -> Need:
    need, household = await need_for(session, user, need_id, lock=True)
    _, region_path = await households.household_for(session, user, household.id)
    if need.state != NeedState.DRAFT:
        raise Conflict(N_("Only a draft can be published."), code="need_state")
    if households.verification_state(household.verified_until) != "valid":
        raise Conflict(
            N_("The household's verification is missing or has lapsed. Verify it first."),
            code="verification",
        )
    blocks = scan(need, household)
    if blocks:
        raise PersonalDataFound(blocks, {"title": need.title, "body": need.body})
    k = get_settings().k_anonymity
    result = await generalize(session, household, region_path, k)
    if not result.k_satisfied:
        raise Conflict(
            N_(
                "Fewer than {k} registered households in this city share this description, so it "
                "cannot be published anonymously yet."
            ),
            code="k_anonymity",
            k=k,
        )
    if not await households.can_publish(session, household):
        raise Conflict(
            N_(
                "No consent to publish needs is recorded for this household (and a "
                "guardian's consent where a member is under 14)."
            ),
            code="consent",
        )
    need.public_region_code = result.region_code
    need.public_profile = public_profile_json(result)
    need.published_at = utcnow()
    need.hidden_reason = None
    need.publish_blocked = None
    await transition(
        session,
        need,
        NeedState.PUBLISHED,
        actor=_actor(user),
        detail={
            "location_level": result.level,
            "profile_level": result.profile_level,
            "shared_by": result.shared_by,
            "k": k,
        },
    )
    return need


async def withdraw(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID, reason: str = ""
) -> Need:
    """The caseworker takes a need off the marketplace (docs/needs-and-claims.md).

    Allowed while nothing has been handed over: a draft, or a published or reserved need.
    Once a delivery is recorded (in progress) or later, 409: the help is finished through its
    deliveries. The claims still standing are released (their pledges and resource capacity
    return), each audited as ``claim.released``."""
    from backend.resources import service as resources

    need, _ = await need_for(session, user, need_id, lock=True)
    if need.state in {
        NeedState.IN_PROGRESS,
        NeedState.DELIVERED,
        NeedState.CONFIRMED,
        NeedState.CLOSED,
    }:
        raise Conflict(
            N_("Help has been handed over for this need, so it can no longer be withdrawn."),
            code="need_state",
        )
    await resources.release_for_withdrawal(session, need, actor=_actor(user))
    need.helper_organization_id = None
    await transition(session, need, NeedState.WITHDRAWN, actor=_actor(user), reason=reason)
    return need


async def reopen(session: AsyncSession, user: CurrentUser, need_id: uuid.UUID) -> Need:
    """A withdrawn or expired need (or a published one nobody pledged to yet) goes back to
    draft for editing. A published need with pledges is refused (409): the organizations
    pledged for what it says now."""
    need, _ = await need_for(session, user, need_id, lock=True)
    if need.state == NeedState.PUBLISHED and need.pledged > 0:
        raise Conflict(
            N_(
                "Organizations have pledged help with this need, so it cannot go back to draft."
                " Withdraw it instead (their claims are released), then draft a new one."
            ),
            code="pledged",
        )
    await transition(session, need, NeedState.DRAFT, actor=_actor(user))
    need.public_region_code = None
    need.public_profile = {}
    return need


async def expire_overdue(session: AsyncSession, today: date | None = None) -> int:
    """The deadline job: published needs whose deadline has passed become expired."""
    day = today or households.today_local()
    count = 0
    for need in await repo.overdue_published(session, day):
        await transition(session, need, NeedState.EXPIRED, actor=Actor.system(), reason="deadline")
        count += 1
    return count


PUBLISH_BLOCKS = ("scanner", "k_anonymity")


async def mark_publish_blocked(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID, reason: str
) -> None:
    """Remember that publishing this draft was refused (the personal-data scanner, or too few
    households alike for k-anonymity), for the caseworker's start page.

    Called by the publish view in a transaction of its own: the refused request rolls back, this
    note stays. Audited (the reason only)."""
    if reason not in PUBLISH_BLOCKS:
        raise ValueError(reason)
    need, _ = await need_for(session, user, need_id, lock=True)
    if need.state != NeedState.DRAFT:
        return
    need.publish_blocked = reason
    await record(
        session,
        actor=_actor(user),
        action="need.publish_refused",
        object_type="need",
        object_id=need.id,
        region_code=need.region_code,
        detail={"reason": reason},
    )
    await session.flush()


async def blocked_drafts(
    session: AsyncSession, user: CurrentUser, *, limit: int = 50, cap: int | None = None
) -> tuple[Sequence[Need], int]:
    """Drafts in the caseworker's regions whose publication was refused (newest first)."""
    paths = user.region_paths(Role.CASEWORKER)
    return await repo.blocked_drafts(session, paths, limit=limit, cap=cap)


async def needs_due_soon(
    session: AsyncSession,
    user: CurrentUser,
    *,
    days: int = DUE_SOON_DAYS,
    limit: int = 50,
    cap: int | None = None,
) -> tuple[Sequence[Need], int]:
    """Published needs nobody has claimed whose deadline is within ``days`` (soonest first)."""
    today = households.today_local()
    return await repo.unclaimed_due(
        session,
        user.region_paths(Role.CASEWORKER),
        today,
        today + timedelta(days=days),
        limit=limit,
        cap=cap,
    )
