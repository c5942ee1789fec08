"""Public needs JSON API: only PublicNeed goes out."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.needs import repository as repo
from backend.needs.schemas import PublicNeed, PublicNeedPage
from backend.regions.models import Region


class PublicNeedsAPI(Controller):
    path = "/needs"
    tags = ["needs"]  # noqa: RUF012 - Litestar API

    @get("/", summary="Published needs (anonymized)")
    async def list_needs(
        self,
        db: DB,
        *,
        category: str = "",
        urgency: str = "",
        region: str = "",
        state_: Annotated[str, QueryParameter(name="state")] = "",
        page: int = 1,
    ) -> PublicNeedPage:
        pager = Page(number=page)
        region_row = await db.get(Region, region) if region else None
        items, total = await repo.public_needs(
            db,
            category=category or None,
            urgency=urgency or None,
            state=state_ or None,
            region_path=region_row.path if region_row else None,
            offset=pager.offset,
            limit=pager.size,
        )
        pager = pager.with_total(total)
        return PublicNeedPage(
            items, pager.number, pager.shown_pages, pager.shown_total, total_capped=pager.capped
        )

    @get("/{need_id:uuid}", summary="One published need (anonymized)")
    async def get_need(self, db: DB, need_id: uuid.UUID) -> PublicNeed:
        need = await repo.public_need(db, need_id)
        if need is None:
            raise NotFound(N_("Need not found."))
        return need
