"""Resources and claims JSON API under /api/v1 (built from the public projection)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from backend.core.bounds import OptionalQueryCode, QueryPage
from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.security import login_required, require_user
from backend.needs.models import Need
from backend.organizations.scope import is_member
from backend.resources import repository as repo
from backend.resources import service
from backend.resources.models import Claim, ResourceKind, ResourceState
from backend.resources.schemas import (
    ClaimIn,
    ClaimOut,
    PublicResource,
    ReleaseIn,
    ResourceIn,
    ResourcePage,
)


def _claim_out(claim: Claim, need: Need) -> ClaimOut:
    return ClaimOut(
        claim.id,
        claim.need_id,
        claim.organization_id,
        claim.resource_id,
        claim.quantity,
        claim.state.value,
        need.state.value,
        service.need_total(need),
        need.pledged,
    )


class ResourcesAPI(Controller):
    tags = ["resources"]  # noqa: RUF012 - Litestar API

    @get("/resources", summary="Active resources (public projection)")
    async def list_resources(
        self,
        db: DB,
        kind: FromQuery[ResourceKind | None] = None,
        category: OptionalQueryCode = None,
        region: OptionalQueryCode = None,
        page: QueryPage = 1,
    ) -> ResourcePage:
        pager = Page(number=page)
        path = await repo.region_path(db, region) if region else None
        rows, total = await repo.public_resources(
            db,
            kind=kind.value if kind else None,
            category=category,
            region_path=path,
            offset=pager.offset,
            limit=pager.size,
        )
        pager = pager.with_total(total)
        return ResourcePage(
            [service.public_resource(r, o) for r, o in rows], pager.number, pager.pages, total
        )

    @get("/resources/{resource_id:uuid}", summary="One resource (public projection)")
    async def get_resource(
        self, request: Request[Any, Any, Any], db: DB, resource_id: FromPath[uuid.UUID]
    ) -> PublicResource:
        found = await repo.resource_with_org(db, resource_id)
        if found is None or (
            found[0].state != ResourceState.ACTIVE and not is_member(request.user, found[1].id)
        ):
            raise NotFound(N_("Resource not found."))
        return service.public_resource(*found)

    @post("/resources", guards=[login_required], summary="Offer a resource for your organization")
    async def create_resource(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[ResourceIn]
    ) -> PublicResource:
        resource = await service.create_resource(
            db,
            require_user(request),
            data.organization_id,
            kind=data.kind,
            category=data.category,
            title=data.title,
            capacity=data.capacity,
            service_area=data.service_area,
            unit=data.unit,
            description=data.description,
            eligibility=service.build_eligibility(
                data.eligibility.categories,
                data.eligibility.flags,
                data.eligibility.max_per_household,
            ),
            available_from=data.available_from,
            available_until=data.available_until,
            item_kind=data.item_kind,
        )
        found = await repo.resource_with_org(db, resource.id)
        assert found is not None
        return service.public_resource(*found)

    @post("/claims", guards=[login_required], summary="Claim a published need (需求认领)")
    async def create_claim(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[ClaimIn]
    ) -> ClaimOut:
        claim = await service.claim_need(
            db,
            require_user(request),
            need_id=data.need_id,
            organization_id=data.organization_id,
            resource_id=data.resource_id,
            quantity=data.quantity,
        )
        return _claim_out(claim, await service.need_of_claim(db, claim))

    @post(
        "/claims/{claim_id:uuid}/release",
        guards=[login_required],
        summary="Release a claim with a reason",
    )
    async def release(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        claim_id: FromPath[uuid.UUID],
        data: JSONBody[ReleaseIn],
    ) -> ClaimOut:
        claim = await service.release_claim(db, require_user(request), claim_id, data.reason)
        return _claim_out(claim, await service.need_of_claim(db, claim))
