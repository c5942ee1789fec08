"""Resources (offers) and direct claims (需求认领).

A claim locks the need (``lock_need``: SELECT … FOR UPDATE) and then the resource row, checks
every rule, decrements ``Resource.remaining`` and moves the need through
``backend.needs.states.transition`` — all in the caller's one transaction. Row locks are
always taken before the first audit row (the audit chain holds an advisory lock until commit),
in the order need → resource, so concurrent claims queue instead of deadlocking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Organization, OrgStatus
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from backend.core.i18n import N_, Terms
from backend.core.money import yuan_to_fen
from backend.core.repository import get_by_id
from backend.households import service as households
from backend.households.enums import FLAG_LABELS, AssistanceCategory, MemberFlag
from backend.items import service as items
from backend.needs.models import Need, NeedCategory, NeedState
from backend.needs.states import lock_need, transition
from backend.organizations.scope import approved_organization, require_member
from backend.outbox.service import emit, record_change
from backend.resources import repository as repo
from backend.resources.models import Claim, ClaimState, Resource, ResourceKind, ResourceState

# Read queries other domains may call (their only way into this domain's repository).
from backend.resources.repository import (
    categories as categories,
)
from backend.resources.repository import (
    claim_detail as claim_detail,
)
from backend.resources.repository import (
    claim_for_update as claim_for_update,
)
from backend.resources.repository import (
    claiming_organizations as claiming_organizations,
)
from backend.resources.repository import (
    in_area as in_area,
)
from backend.resources.repository import (
    known_regions as known_regions,
)
from backend.resources.repository import (
    org_claims as org_claims,
)
from backend.resources.repository import (
    org_resources as org_resources,
)
from backend.resources.repository import (
    public_resources as public_resources,
)
from backend.resources.repository import (
    region_names as region_names,
)
from backend.resources.repository import (
    region_path as region_path,
)
from backend.resources.schemas import Eligibility, NeedSummary, PublicResource
from matching.items import normalize_unit

RESOURCE_MOVES: dict[ResourceState, frozenset[ResourceState]] = {
    ResourceState.ACTIVE: frozenset({ResourceState.PAUSED, ResourceState.CLOSED}),
    ResourceState.PAUSED: frozenset({ResourceState.ACTIVE, ResourceState.CLOSED}),
    ResourceState.CLOSED: frozenset(),
}


def actor_of(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id)


def eligibility_of(resource: Resource) -> Eligibility:
    return msgspec.convert(resource.eligibility or {}, Eligibility)


def build_eligibility(
    categories: list[str], flags: list[str], max_per_household: int | None
) -> Eligibility:
    valid_categories = {c.value for c in AssistanceCategory}
    valid_flags = {f.value for f in MemberFlag}
    if any(c not in valid_categories for c in categories):
        raise Invalid(
            N_("Choose assistance categories from the list."), fields={"categories": "invalid"}
        )
    if any(f not in valid_flags for f in flags):
        raise Invalid(N_("Choose household conditions from the list."), fields={"flags": "invalid"})
    if max_per_household is not None and max_per_household < 1:
        raise Invalid(
            N_("The limit per household must be at least 1."),
            fields={"max_per_household": "too_small"},
        )
    return Eligibility(sorted(set(categories)), sorted(set(flags)), max_per_household)


def parse_capacity(kind: str, text: str) -> int | None:
    """The capacity a form typed: yuan with two decimals for funds (stored in fen), a whole
    number of units for everything else."""
    if kind == ResourceKind.FUNDS.value:
        return yuan_to_fen(text)
    try:
        return int(text.strip()) if text.strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ResourceFields:
    """A resource as its form or the API gives it (checked by :func:`_clean_fields`)."""

    kind: str
    category: str
    title: str
    capacity: int | None
    service_area: list[str]
    unit: str = ""
    description: str = ""
    eligibility: Eligibility | None = None
    available_from: date | None = None
    available_until: date | None = None
    item_kind: str | None = None


async def _clean_fields(
    session: AsyncSession, org: Organization, data: ResourceFields
) -> dict[str, Any]:
    """Every field checked (422 naming each), the public texts through the gate, the item kind
    resolved: the column values of the resource."""
    errors: dict[str, str] = {}
    if data.kind not in {k.value for k in ResourceKind}:
        errors["kind"] = "invalid"
    title = data.title.strip()
    if not title:
        errors["title"] = "required"
    elif len(title) > 120:
        errors["title"] = "too_long"
    if await get_by_id(session, NeedCategory, data.category) is None:
        errors["category"] = "invalid"
    if data.capacity is None:
        errors["capacity"] = "required"
    elif data.capacity < 1:
        errors["capacity"] = "too_small"
    area = [c.strip() for c in data.service_area if c.strip()]
    if not area or await repo.known_regions(session, area) != set(area):
        errors["service_area"] = "invalid"
    if data.available_from and data.available_until and data.available_until < data.available_from:
        errors["available_until"] = "before_start"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    description = data.description.strip()
    await households.check_organization_text(
        session, org.id, {"title": title, "description": description}
    )
    # The item kind: as given (of the category), or inferred from the title and description.
    resolved = await items.resolve_for_region(
        session,
        org.region_code,
        category=data.category,
        title=title,
        body=description,
        item_kind=data.item_kind or None,
        unit=data.unit,
    )
    funds = data.kind == ResourceKind.FUNDS.value
    return {
        "kind": ResourceKind(data.kind),
        "category": data.category,
        "title": title,
        "description": description,
        "unit": "" if funds else resolved.unit,  # funds count fen, shown as ¥
        "item_kind": resolved.kind,
        "item_kind_source": resolved.source.value,
        "capacity": data.capacity,
        "service_area": sorted(set(area)),
        "eligibility": msgspec.to_builtins(data.eligibility or Eligibility()),
        "available_from": data.available_from,
        "available_until": data.available_until,
    }


async def create_resource(
    session: AsyncSession,
    actor: CurrentUser,
    organization_id: uuid.UUID,
    *,
    kind: str,
    category: str,
    title: str,
    capacity: int | None,
    service_area: list[str],
    unit: str = "",
    description: str = "",
    eligibility: Eligibility | None = None,
    available_from: date | None = None,
    available_until: date | None = None,
    item_kind: str | None = None,
) -> Resource:
    org = await approved_organization(
        session,
        actor,
        organization_id,
        refusal=N_("Your organization must be approved before it can offer resources."),
    )
    values = await _clean_fields(
        session,
        org,
        ResourceFields(
            kind=kind,
            category=category,
            title=title,
            capacity=capacity,
            service_area=service_area,
            unit=unit,
            description=description,
            eligibility=eligibility,
            available_from=available_from,
            available_until=available_until,
            item_kind=item_kind,
        ),
    )
    resource = Resource(
        id=uuid.uuid4(),
        organization_id=organization_id,
        remaining=values["capacity"],
        state=ResourceState.ACTIVE,
        created_by=actor.id,
        **values,
    )
    session.add(resource)
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action="resource.created",
        object_type="resource",
        object_id=resource.id,
        region_code=org.region_code,
        detail={"organization_id": str(organization_id)},
        payload={
            "organization_id": str(organization_id),
            "category": category,
            "remaining": resource.remaining,
        },
    )
    return resource


#: What a resource's active claims were pledged in: these stay while any claim is active.
PLEDGED_IN = ("kind", "category", "unit", "item_kind")


async def resource_for_edit(
    session: AsyncSession, actor: CurrentUser, resource_id: uuid.UUID
) -> Resource:
    """The resource for a member of its organization (404 for everyone else)."""
    found = await repo.resource_with_org(session, resource_id)
    if found is None or actor.org_role(found[1].id) is None:
        raise NotFound(N_("Resource not found."))
    return found[0]


async def update_resource(
    session: AsyncSession, actor: CurrentUser, resource_id: uuid.UUID, data: ResourceFields
) -> Resource:
    """The organization corrects its offer (docs/resources.md, "Editing a resource").

    Members of the owning (approved) organization only; a closed resource is final. The texts
    pass the public-text gate. While claims on it are active, what they were pledged in (kind,
    category, unit, item kind) cannot change (409), and the capacity never drops below what
    claims hold already (422); the new remaining is the new capacity less that. Service area,
    eligibility and dates apply to claims from now on. Audited as ``resource.edited`` with the
    names of the changed fields.
    """
    resource = await repo.resource_for_update(session, resource_id)
    if resource is None or actor.org_role(resource.organization_id) is None:
        raise NotFound(N_("Resource not found."))
    org = await approved_organization(
        session,
        actor,
        resource.organization_id,
        refusal=N_("Your organization must be approved before it can offer resources."),
    )
    if resource.state == ResourceState.CLOSED:
        raise Conflict(N_("This resource is closed and can no longer be changed."), code="closed")
    values = await _clean_fields(session, org, data)
    changed = sorted(k for k, v in values.items() if getattr(resource, k) != v)
    active = await repo.active_claim_count(session, resource.id)
    if active and any(k in changed for k in PLEDGED_IN):
        raise Conflict(
            N_(
                "{n} active claims were pledged in this resource's kind, category and unit;"
                " these cannot change while the claims are active. Change only the other"
                " fields, or offer a new resource."
            ),
            code="in_use",
            n=active,
        )
    held = resource.capacity - resource.remaining
    if values["capacity"] < held:
        raise Invalid(
            N_("Claims hold {held} of this resource already; the capacity cannot be less."),
            code="capacity_held",
            fields={"capacity": "below_held"},
            held=held,
        )
    if not changed:
        return resource
    for key in changed:
        setattr(resource, key, values[key])
    resource.remaining = resource.capacity - held
    await session.flush()
    await record_change(
        session,
        actor=actor_of(actor),
        action="resource.edited",
        object_type="resource",
        object_id=resource.id,
        region_code=org.region_code,
        detail={"fields": changed, "active_claims": active},
        payload={"remaining": resource.remaining, "fields": changed},
    )
    return resource


async def set_resource_state(
    session: AsyncSession, actor: CurrentUser, resource_id: uuid.UUID, target: ResourceState
) -> Resource:
    resource = await repo.resource_for_update(session, resource_id)
    if resource is None:
        raise NotFound(N_("Resource not found."))
    require_member(actor, resource.organization_id)
    if target not in RESOURCE_MOVES[resource.state]:
        raise Conflict(
            N_("This resource is {current} and cannot become {target}."),
            current=resource.state.value,
            target=target.value,
        )
    previous = resource.state
    resource.state = target
    await record(
        session,
        actor=actor_of(actor),
        action=f"resource.{target.value}",
        object_type="resource",
        object_id=resource.id,
        detail={"from": previous.value, "to": target.value},
    )
    topic = {
        ResourceState.ACTIVE: "resource.resumed",
        ResourceState.PAUSED: "resource.paused",
        ResourceState.CLOSED: "resource.closed",
    }[target]
    await emit(
        session,
        topic=topic,
        aggregate_type="resource",
        aggregate_id=resource.id,
        payload={"state": target.value},
    )
    await session.flush()
    return resource


def need_total(need: Need) -> int | None:
    """What the need asks for: a quantity, or an amount in fen; None for a single whole item."""
    return need.quantity if need.quantity is not None else need.amount_fen


def still_owed(need: Need) -> int | None:
    total = need_total(need)
    return None if total is None else max(0, total - need.pledged)


async def _check_resource(
    session: AsyncSession, resource: Resource, need: Need, quantity: int
) -> None:
    """Every rule of the offer, each refused with its reason."""
    if resource.state != ResourceState.ACTIVE:
        raise Conflict(
            N_("This resource is paused or closed and cannot be used for claims."),
            code="resource_state",
        )
    today = utcnow().date()
    if (resource.available_from and today < resource.available_from) or (
        resource.available_until and today > resource.available_until
    ):
        raise Conflict(
            N_("This resource is outside its availability window."), code="resource_window"
        )
    if resource.category != need.category:
        raise Invalid(
            N_("This resource offers a different category of help than the need asks for."),
            code="category",
            fields={"resource_id": "category"},
        )
    path = await repo.region_path(session, need.region_code)
    roots = await repo.paths_of(session, resource.service_area)
    if path is None or not repo.in_area(path, roots):
        raise Invalid(
            N_("This need lies outside the resource's service area."),
            code="service_area",
            fields={"resource_id": "service_area"},
        )
    rules = eligibility_of(resource)
    if rules.categories or rules.flags or rules.max_per_household:
        profile = await repo.household_profile(session, need.household_id)
        if profile is None:
            raise NotFound(N_("Need not found."))
        category, flags = profile
        if rules.categories and category not in rules.categories:
            raise Invalid(
                N_("This household's assistance category is not among those this resource serves."),
                code="eligibility_category",
                fields={"resource_id": "eligibility"},
            )
        missing = [flag for flag in rules.flags if flag not in flags]
        if missing:
            raise Invalid(
                N_("This resource is only for households with: {flags}."),
                code="eligibility_flags",
                fields={"resource_id": "eligibility"},
                flags=Terms(FLAG_LABELS.get(flag, flag) for flag in missing),
            )
        if rules.max_per_household:
            used = await repo.claims_by_resource_for_household(
                session, resource.id, need.household_id
            )
            if used >= rules.max_per_household:
                raise Conflict(
                    N_("This household has reached the limit of {n} claims from this resource."),
                    code="eligibility_limit",
                    n=rules.max_per_household,
                )
    if quantity > resource.remaining:
        raise Conflict(
            N_("Only {remaining} {unit} of this resource remain."),
            code="capacity",
            remaining=resource.remaining,
            unit=resource.unit,
        )


async def _check_organization_area(
    session: AsyncSession, organization_id: uuid.UUID, need: Need
) -> None:
    """Every claim path, with or without a resource: the need lies in the organization's
    declared service area (its own region when it declared none)."""
    org = await get_by_id(session, Organization, organization_id)
    if org is None:
        raise NotFound(N_("Organization not found."))
    area = list(org.service_area or ([org.region_code] if org.region_code else []))
    path = await repo.region_path(session, need.region_code)
    roots = await repo.paths_of(session, area) if area else []
    if path is None or not repo.in_area(path, roots):
        raise Invalid(
            N_(
                "This need lies outside your organization's service area. Add its region to"
                " the service area in the organization's profile, or leave it to an"
                " organization that serves it."
            ),
            code="service_area",
            fields={"need_id": "service_area"},
        )


async def claim_need(
    session: AsyncSession,
    actor: CurrentUser,
    *,
    need_id: uuid.UUID,
    organization_id: uuid.UUID,
    resource_id: uuid.UUID | None = None,
    quantity: int | None = None,
) -> Claim:
    """A member claims a published need with a resource of the organization or as a pledge."""
    require_member(actor, organization_id)
    need = await lock_need(session, need_id)
    if need.state == NeedState.DRAFT:
        raise NotFound(N_("Need not found."))
    if need.state != NeedState.PUBLISHED:
        if need.state in {NeedState.RESERVED, NeedState.IN_PROGRESS, NeedState.DELIVERED}:
            raise Conflict(
                N_("Another organization has just claimed this need. It is no longer open."),
                code="claimed",
            )
        raise Conflict(N_("This need is no longer open for claims."), code="need_closed")
    if need.hidden_reason:
        raise Conflict(N_("This need is no longer open for claims."), code="need_closed")
    owed = still_owed(need)
    if owed is None:
        amount = 1
        if quantity not in (None, 1):
            raise Invalid(N_("This need is claimed as a whole."), fields={"quantity": "invalid"})
    else:
        amount = owed if quantity is None else quantity
        if amount < 1:
            raise Invalid(N_("Enter a quantity of at least 1."), fields={"quantity": "invalid"})
        if amount > owed:
            raise Invalid(
                N_("Only {owed} {unit} are still needed."),
                fields={"quantity": "too_many"},
                owed=owed,
                unit=need.unit,
            )
    resource: Resource | None = None
    if resource_id is not None:
        resource = await repo.resource_for_update(session, resource_id)
        if resource is None or resource.organization_id != organization_id:
            raise NotFound(N_("Resource not found."))
    await _check_organization_area(session, organization_id, need)
    if resource is not None:
        await _check_resource(session, resource, need, amount)
        resource.remaining -= amount
    claim = Claim(
        id=uuid.uuid4(),
        need_id=need.id,
        organization_id=organization_id,
        resource_id=resource.id if resource else None,
        quantity=amount,
        state=ClaimState.ACTIVE,
        claimed_by=actor.id,
    )
    session.add(claim)
    need.pledged += amount
    await session.flush()
    full = owed is None or need.pledged >= (need_total(need) or 0)
    await record_change(
        session,
        actor=actor_of(actor),
        action="claim.created",
        object_type="claim",
        object_id=claim.id,
        region_code=need.region_code,
        detail={
            "need_id": str(need.id),
            "organization_id": str(organization_id),
            "resource_id": str(resource.id) if resource else None,
            "quantity": amount,
        },
        payload={
            "need_id": str(need.id),
            "organization_id": str(organization_id),
            "resource_id": str(resource.id) if resource else None,
            "quantity": amount,
        },
    )
    if resource is not None:
        await emit(
            session,
            topic="resource.updated",
            aggregate_type="resource",
            aggregate_id=resource.id,
            payload={"remaining": resource.remaining},
        )
    if full:
        need.helper_organization_id = organization_id
        await transition(
            session,
            need,
            NeedState.RESERVED,
            actor=actor_of(actor),
            detail={"claim_id": str(claim.id)},
        )
    else:
        await emit(
            session,
            topic="need.pledged",
            aggregate_type="need",
            aggregate_id=need.id,
            payload={"pledged": need.pledged, "total": need_total(need)},
        )
    await session.flush()
    return claim


async def release_claim(
    session: AsyncSession, actor: CurrentUser, claim_id: uuid.UUID, reason: str
) -> Claim:
    """Give a claim back with a reason: the pledge and capacity return, the need is republished."""
    claim = await repo.claim_for_update(session, claim_id)
    if claim is None:
        raise NotFound(N_("Claim not found."))
    require_member(actor, claim.organization_id)
    if claim.state != ClaimState.ACTIVE:
        raise Conflict(N_("This claim is not active any more."), code="claim_state")
    if not reason.strip():
        raise Invalid(N_("Give a reason for releasing the claim."), fields={"reason": "required"})
    need = await lock_need(session, claim.need_id)
    resource = (
        await repo.resource_for_update(session, claim.resource_id) if claim.resource_id else None
    )
    refusal = await release_refusal(session, claim, need)
    if refusal is not None:
        raise refusal
    claim.state = ClaimState.RELEASED
    claim.release_reason = reason.strip()[:2000]
    need.pledged = max(0, need.pledged - claim.quantity)
    if resource is not None and resource.state != ResourceState.CLOSED:
        resource.remaining = min(resource.capacity, resource.remaining + claim.quantity)
    await record_change(
        session,
        actor=actor_of(actor),
        action="claim.released",
        object_type="claim",
        object_id=claim.id,
        region_code=need.region_code,
        detail={"need_id": str(need.id), "reason_given": True},
        payload={"need_id": str(need.id), "organization_id": str(claim.organization_id)},
    )
    if resource is not None:
        await emit(
            session,
            topic="resource.updated",
            aggregate_type="resource",
            aggregate_id=resource.id,
            payload={"remaining": resource.remaining},
        )
    if need.state in {NeedState.RESERVED, NeedState.IN_PROGRESS}:
        need.helper_organization_id = None
        await transition(
            session,
            need,
            NeedState.PUBLISHED,
            actor=actor_of(actor),
            reason=reason,
            detail={"claim_id": str(claim.id)},
        )
    else:
        await emit(
            session,
            topic="need.pledged",
            aggregate_type="need",
            aggregate_id=need.id,
            payload={"pledged": need.pledged, "total": need_total(need)},
        )
    await session.flush()
    return claim


async def release_for_withdrawal(session: AsyncSession, need: Need, *, actor: Actor) -> int:
    """The caseworker withdraws the (locked) need: each claim still active on it is released,
    its pledge and resource capacity returned, audited as ``claim.released``. Claims under
    which something was delivered are not expected here (the need would be in progress)."""
    count = 0
    for claim in await repo.active_claims_of_need(session, need.id):
        resource = (
            await repo.resource_for_update(session, claim.resource_id)
            if claim.resource_id
            else None
        )
        claim.state = ClaimState.RELEASED
        claim.release_reason = "need_withdrawn"
        need.pledged = max(0, need.pledged - claim.quantity)
        if resource is not None and resource.state != ResourceState.CLOSED:
            resource.remaining = min(resource.capacity, resource.remaining + claim.quantity)
        await record_change(
            session,
            actor=actor,
            action="claim.released",
            object_type="claim",
            object_id=claim.id,
            region_code=need.region_code,
            detail={"need_id": str(need.id), "reason": "need_withdrawn"},
            payload={"need_id": str(need.id), "organization_id": str(claim.organization_id)},
        )
        if resource is not None:
            await emit(
                session,
                topic="resource.updated",
                aggregate_type="resource",
                aggregate_id=resource.id,
                payload={"remaining": resource.remaining},
            )
        count += 1
    await session.flush()
    return count


async def release_refusal(session: AsyncSession, claim: Claim, need: Need) -> Conflict | None:
    """Why this claim can no longer be released (放弃认领), or ``None`` when it can.

    A claim is released only while it is active, its need is still open or being worked on,
    and nothing has been handed over under it: once a delivery is recorded (and not disputed
    by the household) the help has begun and is finished through the delivery pages instead.
    """
    if claim.state != ClaimState.ACTIVE:
        return Conflict(N_("This claim is not active any more."), code="claim_state")
    if need.state not in {NeedState.PUBLISHED, NeedState.RESERVED, NeedState.IN_PROGRESS}:
        return Conflict(
            N_("This need has moved on ({state}); the claim can no longer be released."),
            code="need_state",
            state=need.state.value,
        )
    if await repo.deliveries_under_claim(session, claim.id):
        return Conflict(
            N_(
                "A delivery is recorded under this claim, so it can no longer be released."
                " Finish the help through its deliveries."
            ),
            code="delivered",
        )
    return None


async def can_release(session: AsyncSession, claim: Claim, need: Need) -> bool:
    return await release_refusal(session, claim, need) is None


@dataclass(frozen=True)
class HelpOption:
    """One of the user's organizations facing a need: may it help, and if not, why not.

    ``reason`` is an English message id (translated where it is shown)."""

    organization_id: uuid.UUID
    organization_name: str
    allowed: bool
    reason: str = ""
    #: The organization's own active claim on the need, when it has one (a link to it).
    claim_id: uuid.UUID | None = None


async def help_options(
    session: AsyncSession, user: CurrentUser, need_id: uuid.UUID
) -> list[HelpOption]:
    """For a signed-in user on a public need page: each organization the user belongs to, and
    whether it may start a claim on the need now (the same rules :func:`claim_need` applies:
    approved organization, the need open, inside the organization's service area). Resource
    rules (eligibility, what is left) are applied in the claim form, which lists only the
    resources that fit; a plain pledge needs none. Empty for users in no organization."""
    if not user.memberships:
        return []
    need = await get_by_id(session, Need, need_id)
    if need is None or need.state == NeedState.DRAFT or need.hidden_reason:
        return []
    options: list[HelpOption] = []
    for membership in user.memberships:
        org_id, name = membership.organization_id, membership.name
        if membership.status != OrgStatus.APPROVED:
            reason = N_("Your organization must be approved before it can claim needs.")
        elif need.state != NeedState.PUBLISHED:
            reason = N_("This need is no longer open for claims.")
        else:
            try:
                await _check_organization_area(session, org_id, need)
                reason = ""
            except DomainError:
                reason = N_(
                    "This need lies outside your organization's service area. Add its region to"
                    " the service area in the organization's profile, or leave it to an"
                    " organization that serves it."
                )
        claim_id = (
            await repo.active_claim_of(session, need.id, org_id)
            if membership.status == OrgStatus.APPROVED
            else None
        )
        options.append(HelpOption(org_id, name, not reason, reason, claim_id))
    return options


async def claimable_resources(
    session: AsyncSession, organization_id: uuid.UUID, need: Need
) -> list[Resource]:
    """The organization's resources a claim on this need may use: active, inside their dates,
    of the need's category and unit, serving its area and household, with something left."""
    fitting: list[Resource] = []
    for resource in await repo.org_resources(session, organization_id, active_only=True):
        if resource.remaining < 1 or resource.category != need.category:
            continue
        if (
            need.quantity is not None
            and resource.unit
            and need.unit
            and normalize_unit(resource.unit) != normalize_unit(need.unit)
        ):
            continue  # a claim takes the need's count from the resource: same unit only
        try:
            await _check_resource(session, resource, need, 1)
        except DomainError:
            continue
        fitting.append(resource)
    return fitting


async def contact_details(
    session: AsyncSession, actor: CurrentUser, claim_id: uuid.UUID
) -> households.ContactDetails:
    """The household's contact details for an active claim whose household consented; the
    households service decrypts and audits them."""
    found = await repo.claim_detail(session, claim_id)
    if found is None:
        raise NotFound(N_("Claim not found."))
    claim, need, _ = found
    if actor.org_role(claim.organization_id) is None:
        raise NotFound(
            N_("Claim not found.")
        )  # admins included: only the claiming members see this
    if claim.state != ClaimState.ACTIVE:
        raise Forbidden(
            N_("Contact details are shown only while your claim is active."), code="claim_inactive"
        )
    return await households.contact_for_claim(
        session,
        need.household_id,
        actor=actor_of(actor),
        claim_id=claim.id,
        organization_id=claim.organization_id,
    )


async def has_contact_consent(session: AsyncSession, household_id: uuid.UUID) -> bool:
    return await households.has_share_contact_consent(session, household_id)


def need_summary(need: Need) -> NeedSummary:
    """Only public fields: the generalized region, never the household."""
    return NeedSummary(
        id=need.id,
        title=need.title,
        body=need.body,
        category=need.category,
        region_code=need.public_region_code or need.region_code[:6],
        urgency=need.urgency.value,
        state=need.state.value,
        unit=need.unit if need.quantity is not None else "",
        total=need_total(need),
        pledged=need.pledged,
        is_amount=need.quantity is None and need.amount_fen is not None,
        deadline=need.deadline,
    )


def public_resource(resource: Resource, org: Organization) -> PublicResource:
    return PublicResource(
        id=resource.id,
        organization_id=org.id,
        organization_name=org.name,
        kind=resource.kind.value,
        category=resource.category,
        title=resource.title,
        description=resource.description,
        unit=resource.unit,
        capacity=resource.capacity,
        remaining=resource.remaining,
        service_area=list(resource.service_area),
        eligibility=eligibility_of(resource),
        available_from=resource.available_from,
        available_until=resource.available_until,
        state=resource.state.value,
        item_kind=resource.item_kind,
        item_kind_source=resource.item_kind_source,
    )


async def claimable_need(session: AsyncSession, need_id: uuid.UUID) -> Need:
    """A need an organization may claim or look at to claim: published or later, not hidden."""
    need = await get_by_id(session, Need, need_id)
    if need is None or need.state == NeedState.DRAFT or need.hidden_reason:
        raise NotFound(N_("Need not found."))
    return need


async def need_of_claim(session: AsyncSession, claim: Claim) -> Need:
    need = await get_by_id(session, Need, claim.need_id)
    assert need is not None  # a claim's need is never deleted
    return need
