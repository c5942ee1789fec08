"""Resources (offers) and direct claims (需求认领).

A claim locks the need (``lock_need``: SELECT … FOR UPDATE) and then the resource row, checks
every rule, decrements ``Resource.remaining`` and moves the need through
``backend.needs.states.transition`` — all in the caller's one transaction. Row locks are
always taken before the first audit row (the audit chain holds an advisory lock until commit),
in the order need → resource, so concurrent claims queue instead of deadlocking.
"""

from __future__ import annotations

import uuid
from datetime import date

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Organization
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.households import service as households
from backend.households.enums import AssistanceCategory, MemberFlag
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
    errors: dict[str, str] = {}
    if kind not in {k.value for k in ResourceKind}:
        errors["kind"] = "invalid"
    if not title.strip():
        errors["title"] = "required"
    elif len(title.strip()) > 120:
        errors["title"] = "too_long"
    if await get_by_id(session, NeedCategory, category) is None:
        errors["category"] = "invalid"
    if capacity is None:
        errors["capacity"] = "required"
    elif capacity < 1:
        errors["capacity"] = "too_small"
    area = [c.strip() for c in service_area if c.strip()]
    if not area or await repo.known_regions(session, area) != set(area):
        errors["service_area"] = "invalid"
    if available_from and available_until and available_until < available_from:
        errors["available_until"] = "before_start"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    await households.check_organization_text(
        session, organization_id, {"title": title.strip(), "description": description.strip()}
    )
    assert capacity is not None
    # The item kind: as given (of the category), or inferred from the title and description.
    resolved = await items.resolve_for_region(
        session,
        org.region_code,
        category=category,
        title=title.strip(),
        body=description,
        item_kind=item_kind or None,
        unit=unit,
    )
    resource = Resource(
        id=uuid.uuid4(),
        organization_id=organization_id,
        kind=ResourceKind(kind),
        category=category,
        title=title.strip(),
        description=description.strip(),
        unit=resolved.unit,
        item_kind=resolved.kind,
        item_kind_source=resolved.source.value,
        capacity=capacity,
        remaining=capacity,
        service_area=sorted(set(area)),
        eligibility=msgspec.to_builtins(eligibility or Eligibility()),
        available_from=available_from,
        available_until=available_until,
        state=ResourceState.ACTIVE,
        created_by=actor.id,
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
                flags=", ".join(missing),
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
    if need.state not in {NeedState.PUBLISHED, NeedState.RESERVED, NeedState.IN_PROGRESS}:
        raise Conflict(
            N_("This need has moved on ({state}); the claim can no longer be released."),
            code="need_state",
            state=need.state.value,
        )
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
