"""The coordinator dashboard page and each chart's CSV."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from backend.accounts.models import Role
from backend.core.http import DB
from backend.core.runtime import runtime_of
from backend.core.security import current_locale, require_user, roles_required
from backend.core.templating import page
from backend.dashboard import service

County = Annotated[str | None, QueryParameter(name="county", max_length=12, pattern=r"^[0-9]*$")]


class DashboardViews(Controller):
    path = "/coordination/dashboard"
    include_in_schema = False
    guards = [roles_required(Role.COORDINATOR)]  # noqa: RUF012 - Litestar API

    @get("/", name="coordination_dashboard")
    async def dashboard(
        self, request: Request[Any, Any, Any], state: State, db: DB, county: County = None
    ) -> Template:
        user = require_user(request)
        locale = current_locale.get()
        area = await service.area_of(db, user, county or None, locale)
        settings = runtime_of(state).settings
        board = await service.dashboard(db, settings, user, area, locale)
        return page(
            request,
            "dashboard/index.html",
            board=board,
            chart_json={c.key: c.as_json() for c in board.charts},
            county_query=f"?county={area.county}" if area.county else "",
            answer_days=settings.report_answer_working_days,
        )

    @get("/csv/{chart_key:str}", name="coordination_dashboard_csv")
    async def chart_csv(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        chart_key: FromPath[str],
        county: County = None,
    ) -> Response[bytes]:
        user = require_user(request)
        locale = current_locale.get()
        area = await service.area_of(db, user, county or None, locale)
        chart = await service.chart(
            db, runtime_of(state).settings, user, area, locale=locale, key=chart_key
        )
        suffix = f"-{area.county}" if area.county else ""
        return Response(
            service.csv_bytes(chart),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="tongxin-{chart.key}{suffix}.csv"'
            },
        )
