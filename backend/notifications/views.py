"""The notifications page and the unread-count API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from backend.core.http import DB
from backend.core.pagination import Page
from backend.core.security import login_required, require_user
from backend.core.templating import page
from backend.notifications import service


class NotificationViews(Controller):
    path = "/notifications"
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/", name="notifications")
    async def listing(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        items, pager = await service.page_for(
            db, require_user(request), Page(number=page_no, size=20)
        )
        unread = await service.unread(db, require_user(request))
        return page(
            request,
            "notifications/page.html",
            fragment="notifications/_list.html",
            items=items,
            pager=pager,
            unread=unread,
        )

    @post("/read")
    async def mark_read(self, request: Request[Any, Any, Any], db: DB) -> Redirect:
        await service.mark_all_read(db, require_user(request))
        return Redirect("/notifications", status_code=303)


class NotificationsAPI(Controller):
    path = "/notifications"
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/", summary="Unread count and the latest notifications of the signed-in user")
    async def listing(self, request: Request[Any, Any, Any], db: DB) -> dict[str, Any]:
        user = require_user(request)
        items, _pager = await service.page_for(db, user, Page(number=1, size=10))
        return {
            "unread": await service.unread(db, user),
            "items": [
                {
                    "id": str(i.id),
                    "text": i.text,
                    "link": i.link,
                    "created_at": i.created_at.isoformat(),
                    "unread": i.unread,
                }
                for i in items
            ],
        }
