"""Accounts JSON API under /api/v1."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from backend.accounts import repository as repo
from backend.accounts import service
from backend.accounts.models import OrgStatus, Role
from backend.core.bounds import Code, Description, RegionCode, ShortText, Text
from backend.core.http import DB
from backend.core.pagination import Page
from backend.core.security import login_required, require_user, roles_required


class RoleOut(msgspec.Struct):
    role: str
    region_code: str | None


class MembershipOut(msgspec.Struct):
    organization_id: uuid.UUID
    name: str
    role: str
    status: str


class MeOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    roles: list[RoleOut]
    memberships: list[MembershipOut]


class OrganizationIn(msgspec.Struct):
    name: ShortText
    org_type: Code
    uscc: Code
    region_code: RegionCode
    description: Description = ""
    contact_email: ShortText = ""


class OrganizationOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    org_type: str
    status: str
    region_code: str


class OrganizationPage(msgspec.Struct):
    items: list[OrganizationOut]
    page: int
    pages: int
    total: int


class ReviewIn(msgspec.Struct):
    approve: bool
    note: Text = ""


def _org_out(org: Any) -> OrganizationOut:
    return OrganizationOut(org.id, org.name, org.org_type.value, org.status.value, org.region_code)


class AccountsAPI(Controller):
    tags = ["accounts"]  # noqa: RUF012 - Litestar API

    @get("/me", guards=[login_required], summary="The signed-in user, roles and memberships")
    async def me(self, request: Request[Any, Any, Any]) -> MeOut:
        user = require_user(request)
        return MeOut(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            locale=user.locale,
            roles=[RoleOut(r.role.value, r.region_code) for r in user.roles],
            memberships=[
                MembershipOut(m.organization_id, m.name, m.role.value, m.status.value)
                for m in user.memberships
            ],
        )

    @post(
        "/organizations",
        guards=[login_required],
        summary="Register an organization (waits for approval)",
    )
    async def register_organization(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[OrganizationIn]
    ) -> OrganizationOut:
        org = await service.register_organization(
            db, require_user(request), **msgspec.structs.asdict(data)
        )
        return _org_out(org)

    @get(
        "/admin/organizations",
        guards=[roles_required(Role.ADMIN)],
        summary="Organizations by review status",
    )
    async def list_organizations(
        self, db: DB, status: FromQuery[str] = "pending", page: FromQuery[int] = 1
    ) -> OrganizationPage:
        wanted = OrgStatus(status) if status in {s.value for s in OrgStatus} else OrgStatus.PENDING
        pager = Page(number=page)
        rows, total = await repo.organizations(
            db, status=wanted, offset=pager.offset, limit=pager.size
        )
        pager = pager.with_total(total)
        return OrganizationPage([_org_out(o) for o in rows], pager.number, pager.pages, total)

    @post(
        "/admin/organizations/{org_id:uuid}/review",
        guards=[roles_required(Role.ADMIN)],
        summary="Approve or reject",
    )
    async def review(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[ReviewIn],
    ) -> OrganizationOut:
        org = await service.review_organization(
            db, require_user(request), org_id, approve=data.approve, note=data.note
        )
        return _org_out(org)
