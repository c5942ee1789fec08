"""Households JSON API under /api/v1 (caseworkers; personal fields masked unless revealed)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from backend.core.bounds import QueryCode, QueryPage
from backend.core.http import DB
from backend.core.pagination import Page
from backend.core.security import login_required, require_user
from backend.households import repository as repo
from backend.households import service
from backend.households.models import AssistanceCategory, Household
from backend.households.schemas import (
    HouseholdIn,
    HouseholdPage,
    HouseholdSummary,
    ReferralIn,
    ReferralOut,
    Revealed,
    RevealIn,
)
from backend.households.views import caseworker_only
from backend.needs import service as needs_service
from backend.needs.schemas import NeedIn


class NeedOut(msgspec.Struct, frozen=True):
    """A caseworker's need: state and public location only (no personal field)."""

    id: uuid.UUID
    household_id: uuid.UUID
    state: str
    hidden_reason: str | None
    public_region_code: str | None
    #: Item kind code, unit, and whether the kind was "given" or "inferred" (or "unsure").
    item_kind: str | None = None
    unit: str = ""
    item_kind_source: str = "inferred"


def _summary(h: Household, region_name: str) -> HouseholdSummary:
    m = service.masked(h)
    return HouseholdSummary(
        id=h.id,
        head_name=m["head_name"],
        id_number=m["id_number"],
        phone=m["phone"],
        region_code=h.region_code,
        region_name=region_name,
        category=h.category.value,
        member_count=len(h.member_ages or []),
        flags=list(h.flags or []),
        verified_until=h.verified_until,
        verification=service.verification_state(h.verified_until),
        vulnerability=h.vulnerability,
        created_at=h.created_at,
    )


def _need_out(need: Any) -> NeedOut:
    return NeedOut(
        need.id,
        need.household_id,
        need.state.value,
        need.hidden_reason,
        need.public_region_code,
        need.item_kind,
        need.unit,
        need.item_kind_source,
    )


class HouseholdsAPI(Controller):
    path = "/households"
    tags = ["households"]  # noqa: RUF012 - Litestar API
    guards = [caseworker_only]  # noqa: RUF012 - Litestar API

    @get("/", summary="Households in the caseworker's regions (masked)")
    async def list_households(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        category: QueryCode = "",
        verification: FromQuery[Literal["", "valid", "lapsed", "none"]] = "",
        community: QueryCode = "",
        page: QueryPage = 1,
    ) -> HouseholdPage:
        user = require_user(request)
        pager = Page(number=page)
        cat = (
            AssistanceCategory(category)
            if category in {c.value for c in AssistanceCategory}
            else None
        )
        rows, total = await repo.list_households(
            db,
            service.caseworker_paths(user),
            today=service.today_local(),
            filters=repo.HouseholdFilter(
                category=cat, verification=verification or None, community=community or None
            ),
            offset=pager.offset,
            limit=pager.size,
        )
        pager = pager.with_total(total)
        return HouseholdPage([_summary(h, n) for h, n in rows], pager.number, pager.pages, total)

    @post("/", summary="Register a household")
    async def register(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[HouseholdIn]
    ) -> HouseholdSummary:
        household = await service.register(db, require_user(request), data)
        return _summary(household, "")

    @get("/{household_id:uuid}", summary="One household (masked)")
    async def get_household(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID]
    ) -> HouseholdSummary:
        household, _ = await service.household_for(db, require_user(request), household_id)
        return _summary(household, "")

    @post("/{household_id:uuid}/reveal", summary="Show personal fields (audited)", status_code=200)
    async def reveal(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        household_id: FromPath[uuid.UUID],
        data: JSONBody[RevealIn],
    ) -> Revealed:
        values = await service.reveal(db, require_user(request), household_id, data.fields)
        return Revealed(household_id, values)

    @post("/{household_id:uuid}/needs", summary="Draft a need")
    async def draft(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        household_id: FromPath[uuid.UUID],
        data: JSONBody[NeedIn],
    ) -> NeedOut:
        return _need_out(
            await needs_service.create_draft(db, require_user(request), household_id, data)
        )

    @post(
        "/needs/{need_id:uuid}/publish",
        summary="Publish a draft (scan, k-anonymity, consent)",
        status_code=200,
    )
    async def publish(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID]
    ) -> NeedOut:
        return _need_out(await needs_service.publish(db, require_user(request), need_id))


class ReferralsAPI(Controller):
    path = "/referrals"
    tags = ["households"]  # noqa: RUF012 - Litestar API
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @post("/", summary="Refer a household in difficulty (主动发现)")
    async def refer(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[ReferralIn]
    ) -> ReferralOut:
        r = await service.refer(
            db,
            require_user(request),
            region_code=data.region_code,
            text=data.text,
            contact=data.contact,
        )
        return ReferralOut(r.id, r.region_code, r.state.value, r.created_at)

    @get("/", summary="My referrals (state only)")
    async def mine(self, request: Request[Any, Any, Any], db: DB) -> list[ReferralOut]:
        rows = await repo.referrals_by(db, require_user(request).id)
        return [ReferralOut(r.id, r.region_code, r.state.value, r.created_at) for r, _ in rows]
