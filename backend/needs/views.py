"""Public need pages: the list and the detail, built only from PublicNeed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template

from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.security import user_of
from backend.core.templating import page
from backend.needs import repository as repo
from backend.needs import service
from backend.needs.models import Urgency
from backend.needs.schemas import PUBLIC_STATES
from backend.regions.models import RegionLevel
from backend.regions.service import by_level
from backend.resources import service as resources


class PublicNeedViews(Controller):
    path = "/needs"
    include_in_schema = False

    @get("/", name="needs")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        category: FromQuery[str] = "",
        urgency: FromQuery[str] = "",
        region: FromQuery[str] = "",
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        pager = Page(number=page_no, size=20)
        regions = await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY)
        region_path = next((r.path for r in regions if r.code == region), None)
        items, total = await repo.public_needs(
            db,
            category=category or None,
            urgency=urgency if urgency in {u.value for u in Urgency} else None,
            region_path=region_path,
            offset=pager.offset,
            limit=pager.size,
        )
        query = "&".join(
            f"{k}={v}"
            for k, v in (("category", category), ("urgency", urgency), ("region", region))
            if v
        )
        return page(
            request,
            "needs/list.html",
            fragment="needs/_list.html",
            items=items,
            pager=pager.with_total(total),
            categories=await repo.categories(db),
            regions=regions,
            urgencies=[u.value for u in Urgency],
            filters={"category": category, "urgency": urgency, "region": region},
            base_url="/needs" + (f"?{query}" if query else ""),
        )

    @get("/{need_id:uuid}", name="need")
    async def detail(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID]
    ) -> Template:
        need = await repo.public_need(db, need_id)
        if need is None:
            raise NotFound(N_("Need not found."))
        # Anonymous pages are cached for everyone (backend/web/cache.py): they show the figures
        # and the helpers, never anything of one user. A signed-in request is never cached, so
        # the help action of the user's organizations is rendered only there.
        user = user_of(request)
        return page(
            request,
            "needs/detail.html",
            need=need,
            public_states=PUBLIC_STATES,
            progress=await service.public_progress(db, need_id),
            helpers=await resources.claiming_organizations(db, need_id),
            help_options=await resources.help_options(db, user, need_id) if user else [],
        )
