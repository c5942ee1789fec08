"""Public needs JSON API: only PublicNeed goes out."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, QueryParameter

from backend.core.bounds import QueryCode, QueryPage
from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.needs import repository as repo
from backend.needs.models import NeedState, Urgency
from backend.needs.schemas import PublicNeed, PublicNeedPage
from backend.regions.service import get_region


class PublicNeedsAPI(Controller):
    path = "/needs"
    tags = ["needs"]  # noqa: RUF012 - Litestar API

    @get("/", summary="Published needs (anonymized)")
    async def list_needs(
        self,
        db: DB,
        *,
        category: QueryCode = "",
        urgency: FromQuery[Urgency | None] = None,
        region: QueryCode = "",
        state_: Annotated[NeedState | None, QueryParameter(name="state")] = None,
        page: QueryPage = 1,
    ) -> PublicNeedPage:
        pager = Page(number=page)
        region_row = await get_region(db, region) if region else None
        items, total = await repo.public_needs(
            db,
            category=category or None,
            urgency=urgency.value if urgency else None,
            state=state_.value if state_ else None,
            region_path=region_row.path if region_row else None,
            offset=pager.offset,
            limit=pager.size,
        )
        pager = pager.with_total(total)
        return PublicNeedPage(
            items, pager.number, pager.shown_pages, pager.shown_total, total_capped=pager.capped
        )

    @get("/{need_id:uuid}", summary="One published need (anonymized)")
    async def get_need(self, db: DB, need_id: FromPath[uuid.UUID]) -> PublicNeed:
        need = await repo.public_need(db, need_id)
        if need is None:
            raise NotFound(N_("Need not found."))
        return need
