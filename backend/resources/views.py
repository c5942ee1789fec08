"""Resource pages (public list and detail, the offer form) and claim pages (需求认领)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Organization
from backend.core.errors import DomainError, Invalid, NotFound
from backend.core.http import DB, Form, form_error
from backend.core.i18n import N_
from backend.core.money import fen_to_yuan, yuan_to_fen
from backend.core.pagination import Page
from backend.core.security import login_required, require_user
from backend.core.templating import page
from backend.grievance import service as grievance
from backend.grievance.models import SubjectType
from backend.households.enums import AssistanceCategory, MemberFlag
from backend.needs.models import Need
from backend.organizations import service as organizations
from backend.organizations.scope import is_member, require_member
from backend.regions.models import RegionLevel
from backend.regions.service import by_level
from backend.resources import repository as repo
from backend.resources import service
from backend.resources.models import ClaimState, ResourceKind, ResourceState

PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


def parse_int(value: str | None) -> int | None:
    """An integer field: None when left empty, -1 when what was typed is not a whole number
    (the service then says the number is out of range, not that the field is empty)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return -1


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def _claim_quantity(db: DB, need_id: uuid.UUID, text: str) -> int | None:
    """What a claim form pledges: yuan (two decimals, stored in fen) for an amount need, a whole
    number of the need's unit otherwise; empty means all that is still needed."""
    if not text.strip():
        return None
    need = await service.claimable_need(db, need_id)
    is_amount = need.quantity is None and need.amount_fen is not None
    value = yuan_to_fen(text) if is_amount else parse_int(text.strip())
    if value is None:
        raise Invalid(N_("Please correct the marked fields."), fields={"quantity": "invalid"})
    return value


async def _org(db: DB, org_id: uuid.UUID) -> Organization:
    return await organizations.organization_or_404(db, org_id)


async def _resource_form_context(db: DB) -> dict[str, Any]:
    return {
        "kinds": list(ResourceKind),
        "categories": await repo.categories(db),
        "regions": await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
        "assistance_categories": list(AssistanceCategory),
        "member_flags": list(MemberFlag),
    }


def _form_data(form: Any) -> tuple[dict[str, str], list[str]]:
    data = {k: str(form.get(k, "")) for k in form}
    area = [str(v) for v in form.getall("service_area")] if "service_area" in form else []
    return data, area


def _choices(form: Any) -> dict[str, list[str]]:
    """The ticked eligibility boxes, to show them again."""
    return {
        name: [str(v) for v in form.getall(name)] if name in form else []
        for name in ("categories", "flags")
    }


def _fields(data: dict[str, str], form: Any) -> service.ResourceFields:
    """The resource form → the service's fields (eligibility checked here: 422 on bad codes)."""
    choices = _choices(form)
    kind = data.get("kind", "")
    return service.ResourceFields(
        kind=kind,
        category=data.get("category", ""),
        title=data.get("title", ""),
        capacity=service.parse_capacity(kind, data.get("capacity", "")),
        service_area=[str(v) for v in form.getall("service_area")]
        if "service_area" in form
        else [],
        unit=data.get("unit", ""),
        description=data.get("description", ""),
        eligibility=service.build_eligibility(
            choices["categories"], choices["flags"], parse_int(data.get("max_per_household", ""))
        ),
        available_from=parse_date(data.get("available_from", "")),
        available_until=parse_date(data.get("available_until", "")),
        item_kind=data.get("item_kind", "").strip() or None,
    )


class ResourceViews(Controller):
    include_in_schema = False

    @get("/resources", name="resources")
    async def list_resources(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        kind: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        pager = Page(number=page_no, size=12)
        rows, total = await repo.public_resources(
            db, kind=kind or None, category=category or None, offset=pager.offset, limit=pager.size
        )
        items = [service.public_resource(r, o) for r, o in rows]
        names = await repo.region_names(db, [c for i in items for c in i.service_area])
        return page(
            request,
            "resources/list.html",
            fragment="resources/_list.html",
            items=items,
            pager=pager.with_total(total),
            kinds=list(ResourceKind),
            categories=await repo.categories(db),
            kind=kind or "",
            category=category or "",
            region_names=names,
        )

    @get("/resources/{resource_id:uuid}", name="resource")
    async def detail(
        self, request: Request[Any, Any, Any], db: DB, resource_id: FromPath[uuid.UUID]
    ) -> Template:
        found = await repo.resource_with_org(db, resource_id)
        member = found is not None and is_member(request.user, found[1].id)
        if found is None or (found[0].state != ResourceState.ACTIVE and not member):
            raise NotFound(N_("Resource not found."))
        item = service.public_resource(*found)
        return page(
            request,
            "resources/detail.html",
            item=item,
            member=member,
            held=await grievance.held(db, SubjectType.RESOURCE, item.id),
            region_names=await repo.region_names(db, item.service_area),
        )

    @get("/org/{org_id:uuid}/resources/new", guards=[login_required])
    async def new_form(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        require_member(require_user(request), org_id)
        org = await _org(db, org_id)
        return page(
            request,
            "resources/form.html",
            org=org,
            form={"service_area": list(org.service_area)},
            **await _resource_form_context(db),
        )

    @post("/org/{org_id:uuid}/resources", guards=[login_required])
    async def create(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        require_member(user, org_id)
        form = await request.form()
        data, area = _form_data(form)
        try:
            resource = await service.create_resource(
                db, user, org_id, **_fields(data, form).__dict__
            )
        except DomainError as exc:
            return form_error(
                request,
                "resources/form.html",
                exc,
                org=await _org(db, org_id),
                form={**data, **_choices(form), "service_area": area},
                **await _resource_form_context(db),
            )
        return Redirect(f"/resources/{resource.id}?saved=created", status_code=303)

    @get("/resources/{resource_id:uuid}/edit", guards=[login_required])
    async def edit_form(
        self, request: Request[Any, Any, Any], db: DB, resource_id: FromPath[uuid.UUID]
    ) -> Template:
        resource = await service.resource_for_edit(db, require_user(request), resource_id)
        rules = service.eligibility_of(resource)
        capacity = (
            fen_to_yuan(resource.capacity)
            if resource.kind == ResourceKind.FUNDS
            else str(resource.capacity)
        )
        form = {
            "title": resource.title,
            "kind": resource.kind.value,
            "category": resource.category,
            "capacity": capacity,
            "unit": resource.unit,
            "description": resource.description,
            "service_area": list(resource.service_area),
            "categories": list(rules.categories),
            "flags": list(rules.flags),
            "max_per_household": str(rules.max_per_household or ""),
            "available_from": resource.available_from.isoformat()
            if resource.available_from
            else "",
            "available_until": resource.available_until.isoformat()
            if resource.available_until
            else "",
            "item_kind": resource.item_kind or "",
        }
        return page(
            request,
            "resources/form.html",
            org=await _org(db, resource.organization_id),
            resource=resource,
            form=form,
            **await _resource_form_context(db),
        )

    @post("/resources/{resource_id:uuid}/edit", guards=[login_required])
    async def edit(
        self, request: Request[Any, Any, Any], db: DB, resource_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        resource = await service.resource_for_edit(db, user, resource_id)
        org_id = resource.organization_id
        form = await request.form()
        data, area = _form_data(form)
        try:
            await service.update_resource(db, user, resource_id, _fields(data, form))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            await db.refresh(resource)
            return form_error(
                request,
                "resources/form.html",
                exc,
                org=await _org(db, org_id),
                resource=resource,
                form={**data, **_choices(form), "service_area": area},
                **await _resource_form_context(db),
            )
        return Redirect(f"/resources/{resource_id}?saved=edited", status_code=303)

    @post("/resources/{resource_id:uuid}/state", guards=[login_required])
    async def change_state(
        self, request: Request[Any, Any, Any], db: DB, resource_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        target = {
            "pause": ResourceState.PAUSED,
            "resume": ResourceState.ACTIVE,
            "close": ResourceState.CLOSED,
        }.get(data.get("action", ""))
        user = require_user(request)
        if target is None:
            found = await repo.resource_with_org(db, resource_id)
            if found is None or not is_member(user, found[1].id):
                raise NotFound(N_("Resource not found."))
            raise Invalid(N_("Choose pause, resume or close."), fields={"action": "invalid"})
        await service.set_resource_state(db, user, resource_id, target)
        return Redirect(f"/resources/{resource_id}?saved={target.value}", status_code=303)


class ClaimViews(Controller):
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/org/{org_id:uuid}/needs")
    async def claimable(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        category: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        require_member(require_user(request), org_id)
        org = await _org(db, org_id)
        pager = Page(number=page_no, size=20)
        roots = await repo.paths_of(db, list(org.service_area) or [org.region_code])
        rows, total = await repo.claimable_needs(
            db, roots, category=category or None, offset=pager.offset, limit=pager.size
        )
        items = [service.need_summary(n) for n in rows]
        return page(
            request,
            "resources/claimable.html",
            fragment="resources/_claimable.html",
            org=org,
            items=items,
            pager=pager.with_total(total),
            categories=await repo.categories(db),
            category=category or "",
            region_names=await repo.region_names(db, [i.region_code for i in items]),
        )

    async def _claim_context(
        self, db: DB, user: CurrentUser, org: Organization, need: Need
    ) -> dict[str, Any]:
        summary = service.need_summary(need)
        refusal = next(
            (
                o.reason
                for o in await service.help_options(db, user, need.id)
                if o.organization_id == org.id and not o.allowed
            ),
            "",
        )
        return {
            "org": org,
            "need": summary,
            "resources": await service.claimable_resources(db, org.id, need),
            "refusal": refusal,
            "owed_yuan": fen_to_yuan(summary.owed or 0) if summary.is_amount else "",
            "region_names": await repo.region_names(db, [summary.region_code]),
        }

    @get("/org/{org_id:uuid}/needs/{need_id:uuid}/claim")
    async def claim_form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        need_id: FromPath[uuid.UUID],
    ) -> Template:
        user = require_user(request)
        require_member(user, org_id)
        org = await _org(db, org_id)
        need = await service.claimable_need(db, need_id)
        return page(
            request,
            "resources/claim.html",
            form={},
            **await self._claim_context(db, user, org, need),
        )

    @post("/org/{org_id:uuid}/needs/{need_id:uuid}/claim")
    async def claim(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        need_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        user = require_user(request)
        resource = data.get("resource_id") or None
        try:
            resource_id = uuid.UUID(resource) if resource else None
        except ValueError:
            resource_id = uuid.uuid4()  # unknown: answered as "Resource not found."
        try:
            claim = await service.claim_need(
                db,
                user,
                need_id=need_id,
                organization_id=org_id,
                resource_id=resource_id,
                quantity=await _claim_quantity(db, need_id, data.get("quantity", "")),
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            org = await _org(db, org_id)
            need = await service.claimable_need(db, need_id)
            await db.refresh(need)
            return form_error(
                request,
                "resources/claim.html",
                exc,
                form=data,
                **await self._claim_context(db, user, org, need),
            )
        return Redirect(f"/claims/{claim.id}?saved=claimed", status_code=303)

    @get("/claims/{claim_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        claim_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        user = require_user(request)
        found = await repo.claim_detail(db, claim_id)
        if found is None:
            raise NotFound(N_("Claim not found."))
        claim, need, resource = found
        require_member(user, claim.organization_id)
        summary = service.need_summary(need)
        return page(
            request,
            "resources/claim_detail.html",
            claim=claim,
            need=summary,
            resource=resource,
            saved=saved,
            can_release=await service.can_release(db, claim, need),
            can_see_contact=claim.state == ClaimState.ACTIVE
            and user.org_role(claim.organization_id) is not None
            and await service.has_contact_consent(db, need.household_id),
            region_names=await repo.region_names(db, [summary.region_code]),
            form={},
        )

    @get("/claims/{claim_id:uuid}/contact")
    async def contact(
        self, request: Request[Any, Any, Any], db: DB, claim_id: FromPath[uuid.UUID]
    ) -> Template:
        details = await service.contact_details(db, require_user(request), claim_id)
        return page(
            request,
            "resources/contact.html",
            fragment="resources/_contact.html",
            details=details,
            claim_id=claim_id,
        )

    @post("/claims/{claim_id:uuid}/release")
    async def release(
        self, request: Request[Any, Any, Any], db: DB, claim_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.release_claim(db, user, claim_id, data.get("reason", ""))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            found = await repo.claim_detail(db, claim_id)
            assert found is not None
            claim, need, resource = found
            summary = service.need_summary(need)
            return form_error(
                request,
                "resources/claim_detail.html",
                exc,
                claim=claim,
                need=summary,
                resource=resource,
                saved=None,
                can_release=await service.can_release(db, claim, need),
                can_see_contact=False,
                form=data,
                region_names=await repo.region_names(db, [summary.region_code]),
            )
        return Redirect(f"/claims/{claim_id}?saved=released", status_code=303)
