"""The notifications page and the unread-count API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from backend.accounts.models import Role
from backend.core.errors import DomainError, NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.core.security import login_required, require_user, roles_required
from backend.core.templating import page, translate
from backend.needs.models import Urgency
from backend.notifications import service
from backend.notifications.deadlines import Thresholds


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

    @get("/count")
    async def count(self, request: Request[Any, Any, Any], db: DB) -> Template:
        """The unread badge of the navigation (loaded by htmx, so pages need no extra query)."""
        unread = await service.unread(db, require_user(request))
        return page(request, "notifications/_count.html", unread=unread)

    @get("/sla")
    async def sla(self, request: Request[Any, Any, Any], state: State) -> Template:
        """The review SLA in force, one line for the coordinator's queue (loaded by htmx)."""
        limits = Thresholds.of(runtime_of(state).settings)
        return page(
            request,
            "notifications/_sla.html",
            emergency=limits.sla_hours[Urgency.EMERGENCY],
            high=limits.sla_hours[Urgency.HIGH],
            normal=limits.sla_hours[Urgency.NORMAL],
            warn=limits.warn_percent,
        )

    @get("/settings", name="notification_settings")
    async def settings_form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        saved: Annotated[bool, QueryParameter(name="saved")] = False,
    ) -> Template:
        rows, phone = await service.preference_rows(db, require_user(request))
        return page(
            request, "notifications/settings.html", rows=rows, phone=phone, saved=saved, error=None
        )

    @post("/settings")
    async def save_settings(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.save_preferences(db, user, data, phone=data.get("sms_phone", ""))
        except DomainError as exc:
            rows, _phone = await service.preference_rows(db, user)
            return page(
                request,
                "notifications/settings.html",
                status_code=exc.status_code,
                rows=rows,
                phone=data.get("sms_phone", ""),
                saved=False,
                error=translate(exc.message, **exc.params),
                fields=getattr(exc, "fields", {}),
            )
        return Redirect("/notifications/settings?saved=true", status_code=303)


class DevMailboxViews(Controller):
    """What would have been sent: e-mails and SMS of the embedded footprint (no SMTP / SMS
    provider configured). Platform administrators only; gone once both are configured."""

    path = "/dev/mailbox"
    include_in_schema = False
    guards = [roles_required(Role.ADMIN)]  # noqa: RUF012 - Litestar API

    @get("/", name="dev_mailbox")
    async def listing(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        settings = runtime_of(state).settings
        if settings.smtp_enabled and settings.sms_provider:
            raise NotFound(N_("Page not found."))
        items, pager = await service.dev_mailbox(db, Page(number=page_no, size=20))
        return page(
            request,
            "notifications/mailbox.html",
            items=items,
            pager=pager,
            smtp=settings.smtp_enabled,
            sms=bool(settings.sms_provider),
        )


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
