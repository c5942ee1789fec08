"""Partner clients (create, revoke, authenticate) and what partner systems may write.

``save_resource`` and ``record_delivery`` are the partner API's own small writes; when the
resources and fulfilment domains grow their services, these should call them instead.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import APIClient, Organization, OrgRole, OrgStatus
from backend.accounts.passwords import hash_password_async, verify_password_async
from backend.audit.service import Actor, record
from backend.core.bounds import (
    DESCRIPTION_MAX,
    INT_MAX,
    SERVICE_AREA_MAX,
    has_control_chars,
)
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.fulfilment.models import Delivery, FulfilmentState
from backend.households import service as households
from backend.items import service as items
from backend.needs.models import NeedCategory
from backend.outbox.service import emit, record_change
from backend.partner import repository as repo
from backend.partner.tokens import SCOPES
from backend.regions.models import Region
from backend.resources.models import ClaimState, Resource, ResourceKind, ResourceState


def client_actor(client: APIClient) -> Actor:
    return Actor(kind="client", id=client.id)


async def _org_for_admin(
    session: AsyncSession, actor: CurrentUser, org_id: uuid.UUID
) -> Organization:
    """Organization admins (and platform admins) manage clients; members 403; others 404."""
    org = await get_by_id(session, Organization, org_id)
    if org is None or not (actor.is_admin or actor.org_role(org_id) is not None):
        raise NotFound(N_("Organization not found."))
    if not actor.is_admin and actor.org_role(org_id) != OrgRole.ADMIN:
        raise Forbidden(N_("Only an administrator of this organization can manage API clients."))
    return org


async def organization_for(
    session: AsyncSession, actor: CurrentUser, org_id: uuid.UUID
) -> Organization:
    return await _org_for_admin(session, actor, org_id)


async def create_client(
    session: AsyncSession, actor: CurrentUser, org_id: uuid.UUID, *, name: str, scopes: list[str]
) -> tuple[APIClient, str]:
    """A new client and its secret; the secret is returned once and stored only as a hash."""
    org = await _org_for_admin(session, actor, org_id)
    if org.status != OrgStatus.APPROVED:
        raise Conflict(N_("Only approved organizations can connect their systems."))
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "required"
    wanted = sorted(set(scopes))
    if not wanted or any(s not in SCOPES for s in wanted):
        errors["scopes"] = "required"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    secret = "txs_" + secrets.token_urlsafe(32)
    client = APIClient(
        id=uuid.uuid4(),
        organization_id=org.id,
        name=name.strip()[:100],
        client_id="txc_" + secrets.token_hex(12),
        secret_hash=await hash_password_async(secret),
        scopes=wanted,
        created_by=actor.id,
        active=True,
    )
    session.add(client)
    await session.flush()
    await record_change(
        session,
        actor=Actor("user", actor.id),
        action="api_client.created",
        object_type="api_client",
        object_id=client.id,
        detail={"scopes": wanted},
    )
    await session.flush()
    return client, secret


async def revoke_client(
    session: AsyncSession, actor: CurrentUser, org_id: uuid.UUID, client_uuid: uuid.UUID
) -> APIClient:
    await _org_for_admin(session, actor, org_id)
    client = await get_by_id(session, APIClient, client_uuid, for_update=True)
    if client is None or client.organization_id != org_id:
        raise NotFound(N_("API client not found."))
    if client.revoked_at is not None:
        raise Conflict(N_("This API client was revoked already."))
    client.revoked_at = utcnow()
    client.active = False
    await record_change(
        session,
        actor=Actor("user", actor.id),
        action="api_client.revoked",
        object_type="api_client",
        object_id=client.id,
    )
    await session.flush()
    return client


def usable(client: APIClient | None) -> bool:
    return client is not None and client.active and client.revoked_at is None


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> APIClient | None:
    client = await repo.client_by_client_id(session, client_id)
    ok = await verify_password_async(client.secret_hash if client else None, secret)
    return client if ok and usable(client) else None


# --- what partner systems write ------------------------------------------------------------

RESOURCE_FIELDS = {
    "item_kind",
    "kind",
    "category",
    "title",
    "description",
    "unit",
    "capacity",
    "remaining",
    "service_area",
    "available_from",
    "available_until",
    "state",
}


def _date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = "invalid"
        return None


async def save_resource(
    session: AsyncSession,
    client: APIClient,
    data: dict[str, Any],
    *,
    resource: Resource | None = None,
) -> Resource:
    """Create (``resource`` None) or update one of the client's organization's resources."""
    errors: dict[str, str] = {}
    unknown = set(data) - RESOURCE_FIELDS
    for name in sorted(unknown):
        errors[name] = "unknown"
    merged: dict[str, Any] = {}
    if resource is not None:
        merged = {f: getattr(resource, f) for f in RESOURCE_FIELDS}
    merged.update({k: v for k, v in data.items() if k in RESOURCE_FIELDS})
    kind = merged.get("kind")
    if kind not in {k.value for k in ResourceKind}:
        errors["kind"] = "invalid"
    state = merged.get("state") or ResourceState.ACTIVE.value
    if state not in {s.value for s in ResourceState}:
        errors["state"] = "invalid"
    title = str(merged.get("title") or "").strip()
    if not title or len(title) > 120:
        errors["title"] = "required" if not title else "too_long"
    category = merged.get("category")
    if not isinstance(category, str) or await get_by_id(session, NeedCategory, category) is None:
        errors["category"] = "invalid"
    capacity = merged.get("capacity")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity <= 0:
        errors["capacity"] = "invalid"
        capacity = 0
    remaining = merged.get("remaining", capacity if resource is None else None)
    if remaining is None:
        remaining = capacity
    if (
        not isinstance(remaining, int)
        or isinstance(remaining, bool)
        or not 0 <= remaining <= capacity
    ):
        errors["remaining"] = "invalid"
    area = merged.get("service_area")
    if not isinstance(area, list) or not area or not all(isinstance(c, str) for c in area):
        errors["service_area"] = "invalid"
    elif len(area) > SERVICE_AREA_MAX or any(len(c) > 12 for c in area):
        errors["service_area"] = "too_many"
    else:
        for code in area:
            if await get_by_id(session, Region, code) is None:
                errors["service_area"] = "invalid"
                break
    start = _date(merged.get("available_from"), "available_from", errors)
    end = _date(merged.get("available_until"), "available_until", errors)
    if start and end and end < start:
        errors["available_until"] = "before_start"
    unit = str(merged.get("unit") or "")
    if len(unit) > 16:
        errors["unit"] = "too_long"
    description = str(merged.get("description") or "")
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = "too_long"
    if isinstance(capacity, int) and capacity > INT_MAX:
        errors["capacity"] = "invalid"
    for name, text in (("title", title), ("description", description), ("unit", unit)):
        if has_control_chars(text):
            errors[name] = "control_chars"
    given_kind = merged.get("item_kind") if "item_kind" in data else None
    if given_kind is not None and not isinstance(given_kind, str):
        errors["item_kind"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    await households.check_organization_text(
        session, client.organization_id, {"title": title, "description": description}
    )
    # The item kind: as given, or inferred from the title when the call does not name one (an
    # update that changes neither keeps the stored kind).
    keep = (
        resource is not None
        and "item_kind" not in data
        and not ({"title", "category", "unit"} & set(data))
    )
    org = await get_by_id(session, Organization, client.organization_id)
    resolved = (
        None
        if keep
        else await items.resolve_for_region(
            session,
            org.region_code if org is not None else None,
            category=str(category),
            title=title,
            body=description,
            item_kind=given_kind or None,
            unit=unit,
        )
    )
    values = {
        "kind": ResourceKind(str(kind)),
        "category": category,
        "title": title,
        "description": description,
        "unit": unit,
        "capacity": capacity,
        "remaining": remaining,
        "service_area": list(area or []),
        "available_from": start,
        "available_until": end,
        "state": ResourceState(state),
    }
    if resolved is not None:
        values["item_kind"] = resolved.kind
        values["item_kind_source"] = resolved.source.value
        values["unit"] = resolved.unit
    if resource is None:
        resource = Resource(
            id=uuid.uuid4(),
            organization_id=client.organization_id,
            created_by=client.created_by,
            eligibility={},
            **values,
        )
        session.add(resource)
        action = "resource.created"
    else:
        for key, value in values.items():
            setattr(resource, key, value)
        action = "resource.updated"
    await session.flush()
    await record_change(
        session,
        actor=client_actor(client),
        action=action,
        object_type="resource",
        object_id=resource.id,
        detail={"via": "partner_api"},
    )
    await session.flush()
    return resource


async def record_delivery(
    session: AsyncSession, client: APIClient, data: dict[str, Any]
) -> Delivery:
    """A delivery for one of the organization's open fulfilments of an active claim or match."""
    errors: dict[str, str] = {}
    try:
        fulfilment_id = uuid.UUID(str(data.get("fulfilment_id")))
    except ValueError:
        raise Invalid(
            N_("Please correct the marked fields."), fields={"fulfilment_id": "invalid"}
        ) from None
    found = await repo.open_fulfilment_of(session, client.organization_id, fulfilment_id)
    if found is None:
        raise NotFound(N_("Fulfilment not found."))
    fulfilment, claim = found
    if fulfilment.state != FulfilmentState.OPEN or (
        claim is not None and claim.state != ClaimState.ACTIVE
    ):
        raise Conflict(N_("This fulfilment is not open for deliveries."))
    delivered_on = _date(data.get("delivered_on"), "delivered_on", errors)
    if delivered_on is None:
        errors.setdefault("delivered_on", "required")
    elif delivered_on > utcnow().date():
        errors["delivered_on"] = "future"
    quantity = data.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        errors["quantity"] = "invalid"
    minutes = data.get("volunteer_minutes", 0)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 24 * 60:
        errors["volunteer_minutes"] = "invalid"
    description = str(data.get("description") or "").strip()
    if not description:
        errors["description"] = "required"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    assert delivered_on is not None
    assert isinstance(quantity, int)
    delivery = Delivery(
        id=uuid.uuid4(),
        fulfilment_id=fulfilment.id,
        delivered_on=delivered_on,
        description=description,
        quantity=quantity,
        volunteer_minutes=minutes,
        notes=str(data.get("notes") or ""),
        photos=[],
        recorded_by=client.created_by,
    )
    session.add(delivery)
    await session.flush()
    await record(
        session,
        actor=client_actor(client),
        action="delivery.recorded",
        object_type="delivery",
        object_id=delivery.id,
        detail={"fulfilment_id": str(fulfilment.id), "via": "partner_api"},
    )
    await emit(
        session, topic="delivery.recorded", aggregate_type="fulfilment", aggregate_id=fulfilment.id
    )
    await session.flush()
    return delivery
