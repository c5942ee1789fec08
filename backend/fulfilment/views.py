"""Fulfilment pages: the organization's deliveries, the door confirmation, photos behind an
authorizing route, the caseworker's disputes, visits and quarterly lists, and the household's
phone-first self-service page (/my) opened with its 幸福码 and PIN."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, UploadFile
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.models import Organization, Role
from backend.core.db import utcnow
from backend.core.errors import DomainError, Forbidden, Invalid, NotFound, RateLimited
from backend.core.http import DB, Form, error_context
from backend.core.i18n import N_
from backend.core.money import yuan_to_fen
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.core.security import login_required, org_member_required, require_user, user_of
from backend.core.storage import MAX_PHOTO_BYTES, MAX_PHOTOS, get_storage, media_type
from backend.core.templating import page
from backend.fulfilment import lists, service
from backend.fulfilment import repository as repo
from backend.fulfilment.models import DeliveryState, Fulfilment
from backend.fulfilment.pdf import render_pdf
from backend.fulfilment.selfservice import COOKIE, IDLE_SECONDS, SelfServiceStore
from backend.households import service as households
from backend.needs.models import Need
from backend.organizations import service as organizations
from backend.organizations.scope import require_member
from backend.regions.models import RegionLevel
from backend.resources.service import need_summary

PageNo = Annotated[int, QueryParameter(name="page", ge=1)]
UPLOAD_LIMIT = MAX_PHOTOS * MAX_PHOTO_BYTES + 1024 * 1024


def caseworker_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = user_of(connection)
    if user is None:
        raise NotAuthorizedException()
    if not user.has_role(Role.CASEWORKER):
        raise PermissionDeniedException()


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The caller's address for the wrong-PIN limit (uvicorn resolves trusted proxies)."""
    return request.client.host if request.client else "unknown"


def _retry_after(exc: DomainError) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if str(value or "").strip() else None
    except ValueError:
        return -1


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def _household_page(
    request: Request[Any, Any, Any],
    db: DB,
    household_id: uuid.UUID,
    *,
    status_code: int = 200,
    saved: str | None = None,
    **extra: Any,
) -> Template:
    """A household's 幸福清单 and visits page; after a failed form, with the error next to
    its field and what was typed (``form``) kept."""
    household, _ = await households.household_for(db, require_user(request), household_id)
    record = await service.household_record(db, household.id)
    schedule = await repo.schedule_of(db, household.id)
    return page(
        request,
        "fulfilment/household.html",
        status_code=status_code,
        household=household,
        record=record,
        schedule=schedule,
        visits=await repo.visits_of(db, household.id),
        default_interval=service.default_interval(household.category),
        saved=saved,
        today=service.today_local(),
        form=extra.pop("form", {}),
        **extra,
    )


def _storage(request: Request[Any, Any, Any]) -> Any:
    return get_storage(runtime_of(request.app.state).services)


def _store(request: Request[Any, Any, Any]) -> SelfServiceStore:
    return SelfServiceStore(runtime_of(request.app.state).queue.pool)


# ---------------------------------------------------------------- organization side


class DeliveryViews(Controller):
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/org/{org_id:uuid}/deliveries", guards=[org_member_required])
    async def work(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        page_no: PageNo = 1,
    ) -> Template:
        require_member(require_user(request), org_id)
        org = await organizations.organization_or_404(db, org_id)
        pager = Page(number=page_no, size=20)
        rows, total = await repo.org_work(db, org_id, offset=pager.offset, limit=pager.size)
        items = [(c, need_summary(n), f) for c, n, f in rows]
        matches = [(f, need_summary(n)) for f, n in await repo.match_fulfilments(db, org_id)]
        return page(
            request,
            "fulfilment/work.html",
            fragment="fulfilment/_work.html",
            org=org,
            items=items,
            matches=matches,
            pager=pager.with_total(total),
        )

    @get("/org/{org_id:uuid}/feedback", guards=[org_member_required])
    async def feedback(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        page_no: PageNo = 1,
    ) -> Template:
        require_member(require_user(request), org_id)
        org = await organizations.organization_or_404(db, org_id)
        pager = Page(number=page_no, size=20)
        rows, total = await repo.org_feedback(db, org_id, offset=pager.offset, limit=pager.size)
        return page(
            request,
            "fulfilment/feedback.html",
            fragment="fulfilment/_feedback.html",
            org=org,
            rows=rows,
            pager=pager.with_total(total),
        )

    async def _form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        need: Need,
        action: str,
        *,
        fulfilment: Fulfilment | None = None,
        org: Organization | None = None,
        status_code: int = 200,
        form: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Template:
        deliveries = await repo.deliveries_of(db, fulfilment.id) if fulfilment else []
        return page(
            request,
            "fulfilment/fulfilment.html",
            status_code=status_code,
            need=need_summary(need),
            amount=service.is_amount(need),
            action=action,
            fulfilment=fulfilment,
            org=org,
            deliveries=deliveries,
            form=form or {"delivered_on": service.today_local().isoformat()},
            max_photos=MAX_PHOTOS,
            **extra,
        )

    @get("/claims/{claim_id:uuid}/deliveries/new")
    async def claim_form(
        self, request: Request[Any, Any, Any], db: DB, claim_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        claim, need = await service.claim_for_member(db, user, claim_id)
        existing = await repo.fulfilment_of_claim(db, claim.id)
        if existing is not None:
            return Redirect(f"/fulfilments/{existing.id}", status_code=303)
        return await self._form(
            request,
            db,
            need,
            f"/claims/{claim_id}/deliveries",
            org=await organizations.organization_or_404(db, claim.organization_id),
        )

    async def _read_delivery(
        self, request: Request[Any, Any, Any], need: Need
    ) -> tuple[dict[str, Any], service.DeliveryIn, list[bytes]]:
        form = await request.form()
        fields = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
        uploads = form.getall("photos") if "photos" in form else []
        photos = [await f.read() for f in uploads if isinstance(f, UploadFile) and f.filename]
        if service.is_amount(need):
            quantity = (
                yuan_to_fen(fields.get("amount", "")) if fields.get("amount", "").strip() else None
            )
        else:
            quantity = 1 if service.need_total(need) is None else _int(fields.get("quantity"))
        data = service.DeliveryIn(
            delivered_on=_date(fields.get("delivered_on")),
            description=fields.get("description", ""),
            quantity=quantity,
            volunteer_minutes=(_int(fields.get("volunteer_hours")) or 0) * 60
            + (_int(fields.get("volunteer_extra_minutes")) or 0),
            notes=fields.get("notes", ""),
        )
        return fields, data, photos

    @post("/claims/{claim_id:uuid}/deliveries", request_max_body_size=UPLOAD_LIMIT)
    async def record_for_claim(
        self, request: Request[Any, Any, Any], db: DB, claim_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        claim, need = await service.claim_for_member(db, user, claim_id)
        fields, data, photos = await self._read_delivery(request, need)
        try:
            fulfilment = await service.open_for_claim(db, user, claim_id)
            delivery = await service.record_delivery(
                db, user, fulfilment.id, data, photos=photos, storage=_storage(request)
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return await self._form(
                request,
                db,
                need,
                f"/claims/{claim_id}/deliveries",
                status_code=exc.status_code,
                form=fields,
                org=await organizations.organization_or_404(db, claim.organization_id),
                **error_context(exc),
            )
        return Redirect(f"/deliveries/{delivery.id}?saved=recorded", status_code=303)

    @get("/fulfilments/{fulfilment_id:uuid}")
    async def fulfilment(
        self, request: Request[Any, Any, Any], db: DB, fulfilment_id: FromPath[uuid.UUID]
    ) -> Template:
        fulfilment, need, org = await service.fulfilment_view(
            db, require_user(request), fulfilment_id
        )
        return await self._form(
            request,
            db,
            need,
            f"/fulfilments/{fulfilment_id}/deliveries",
            fulfilment=fulfilment,
            org=org,
        )

    @post("/fulfilments/{fulfilment_id:uuid}/deliveries", request_max_body_size=UPLOAD_LIMIT)
    async def record(
        self, request: Request[Any, Any, Any], db: DB, fulfilment_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        fulfilment, need, org = await service.fulfilment_view(db, user, fulfilment_id)
        fields, data, photos = await self._read_delivery(request, need)
        try:
            delivery = await service.record_delivery(
                db, user, fulfilment_id, data, photos=photos, storage=_storage(request)
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return await self._form(
                request,
                db,
                need,
                f"/fulfilments/{fulfilment_id}/deliveries",
                status_code=exc.status_code,
                form=fields,
                fulfilment=fulfilment,
                org=org,
                **error_context(exc),
            )
        return Redirect(f"/deliveries/{delivery.id}?saved=recorded", status_code=303)

    async def _detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        delivery_id: uuid.UUID,
        *,
        status_code: int = 200,
        saved: str | None = None,
        **extra: Any,
    ) -> Template:
        access = await service.delivery_access(db, require_user(request), delivery_id)
        feedback = (await repo.feedback_of(db, [delivery_id])).get(delivery_id)
        return page(
            request,
            "fulfilment/delivery.html",
            status_code=status_code,
            d=access.delivery,
            need=need_summary(access.need),
            org=access.organization,
            as_member=access.as_member,
            as_caseworker=access.as_caseworker,
            feedback=feedback,
            saved=saved,
            household_id=access.need.household_id if access.as_caseworker else None,
            form=extra.pop("form", {}),
            **extra,
        )

    @get("/deliveries/{delivery_id:uuid}")
    async def delivery(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        delivery_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        return await self._detail(request, db, delivery_id, saved=saved)

    @get("/deliveries/{delivery_id:uuid}/photos/{name:str}")
    async def photo(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        delivery_id: FromPath[uuid.UUID],
        name: FromPath[str],
    ) -> Response[bytes]:
        key = f"deliveries/{name}"
        data = await service.photo(db, require_user(request), delivery_id, key, _storage(request))
        return Response(
            data,
            media_type=media_type(key),
            headers={
                "Cache-Control": "private, max-age=300",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": "inline",
            },
        )

    async def _confirm_page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        delivery_id: uuid.UUID,
        *,
        status_code: int = 200,
        form: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Template:
        access = await service.delivery_access(db, require_user(request), delivery_id)
        if not access.as_member:
            raise NotFound(N_("Delivery not found."))
        return page(
            request,
            "fulfilment/confirm.html",
            status_code=status_code,
            d=access.delivery,
            need=need_summary(access.need),
            org=access.organization,
            form=form or {},
            **extra,
        )

    @get("/deliveries/{delivery_id:uuid}/confirm")
    async def confirm_form(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID]
    ) -> Template:
        return await self._confirm_page(request, db, delivery_id)

    @post("/deliveries/{delivery_id:uuid}/confirm")
    async def confirm(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        """Code and PIN at the door. The PIN is checked and never sent back: a failed try
        re-renders the page with the code only, and says how many tries are left."""
        code = data.get("code", "")
        if data.get("step") == "code":  # from the door lookup: the code is known, ask for the PIN
            return await self._confirm_page(request, db, delivery_id, form={"code": code})
        try:
            await service.confirm_with_code(
                db,
                require_user(request),
                delivery_id,
                code,
                data.get("pin", ""),
                client_ip=client_ip(request),
            )
        except service.DeliveryNotFound:
            raise
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            tpl = await self._confirm_page(
                request,
                db,
                delivery_id,
                status_code=exc.status_code,
                form={"code": code},
                **error_context(exc),
            )
            tpl.headers.update(_retry_after(exc))
            return tpl
        return Redirect(f"/deliveries/{delivery_id}?saved=confirmed", status_code=303)

    @post("/deliveries/{delivery_id:uuid}/caseworker-confirm")
    async def caseworker_confirm(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.confirm_by_caseworker(
                db,
                require_user(request),
                delivery_id,
                reason=data.get("reason", ""),
                note=data.get("note", ""),
            )
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            return await self._detail(
                request,
                db,
                delivery_id,
                status_code=exc.status_code,
                form=data,
                **error_context(exc),
            )
        return Redirect(f"/deliveries/{delivery_id}?saved=confirmed", status_code=303)

    @post("/deliveries/{delivery_id:uuid}/not-received")
    async def not_received(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await service.report_not_received(db, delivery_id, user=require_user(request))
        return Redirect(f"/deliveries/{delivery_id}?saved=disputed", status_code=303)

    @post("/deliveries/{delivery_id:uuid}/feedback")
    async def feedback_for(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.give_feedback(
                db,
                delivery_id,
                _int(data.get("rating")),
                data.get("comment", ""),
                user=require_user(request),
            )
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            return await self._detail(
                request,
                db,
                delivery_id,
                status_code=exc.status_code,
                form=data,
                **error_context(exc),
            )
        return Redirect(f"/deliveries/{delivery_id}?saved=rated", status_code=303)


class CodeViews(Controller):
    """At the door: the deliverer scanned or typed the household's code (no PIN yet)."""

    include_in_schema = False

    @post("/door", guards=[login_required])
    async def door(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        code = data.get("code", "")
        try:
            waiting = await service.waiting_at_door(db, user, code, client_ip=client_ip(request))
        except DomainError as exc:
            tpl = page(
                request,
                "household_self/door.html",
                status_code=exc.status_code,
                form={"code": code},
                **error_context(exc),
            )
            tpl.headers.update(_retry_after(exc))
            return tpl
        if len(waiting) == 1:
            delivery, need, org = waiting[0]
            return page(
                request,
                "fulfilment/confirm.html",
                d=delivery,
                need=need_summary(need),
                org=org,
                form={"code": code},
            )
        return page(
            request,
            "fulfilment/code.html",
            waiting=[(d, need_summary(n), o) for d, n, o in waiting],
            code=code,
        )

    @get("/code/{old:path}")
    async def old_card(self, old: FromPath[str]) -> Redirect:
        """The QR of a card from before the typeable code: those codes no longer work."""
        del old  # never logged, never looked up
        return Redirect("/my?card=replaced", status_code=303)


# ---------------------------------------------------------------- caseworker side


class CaseworkerViews(Controller):
    include_in_schema = False
    path = "/fulfilment"
    guards = [caseworker_only]  # noqa: RUF012 - Litestar API

    @get("/disputes")
    async def disputes(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state_: Annotated[str, QueryParameter(name="state", max_length=20)] = "disputed",
    ) -> Template:
        """Deliveries reported not received (default), or ``?state=recorded``: deliveries
        waiting for the household's confirmation."""
        user = require_user(request)
        state = DeliveryState.RECORDED if state_ == "recorded" else DeliveryState.DISPUTED
        rows = await repo.disputed(db, households.caseworker_paths(user), state)
        return page(
            request,
            "fulfilment/disputes.html",
            rows=[(d, need_summary(n), o) for d, n, o in rows],
            state=state.value,
        )

    @get("/households/{household_id:uuid}")
    async def household(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        household_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        return await _household_page(request, db, household_id, saved=saved)

    @post("/households/{household_id:uuid}/schedule")
    async def schedule(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.set_schedule(
                db,
                require_user(request),
                household_id,
                interval_days=_int(data.get("interval_days")),
                assignee_email=data.get("assignee_email", ""),
                next_due=_date(data.get("next_due")),
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return await _household_page(
                request,
                db,
                household_id,
                status_code=exc.status_code,
                form=data,
                **error_context(exc),
            )
        return Redirect(f"/fulfilment/households/{household_id}?saved=schedule", status_code=303)

    @get("/visits/overdue")
    async def overdue(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        page_no: PageNo = 1,
        due: Annotated[str, QueryParameter(max_length=10)] = "",
    ) -> Template:
        """Overdue visits, or ``?due=soon``: visits due within the next week."""
        user = require_user(request)
        pager = Page(number=page_no, size=30)
        today = service.today_local()
        soon = due == "soon"
        rows, total = await repo.overdue(
            db,
            households.caseworker_paths(user),
            today,
            utcnow(),
            offset=pager.offset,
            limit=pager.size,
            due_by=today + timedelta(days=service.VISITS_DUE_DAYS) if soon else None,
        )
        return page(
            request,
            "fulfilment/overdue.html",
            fragment="fulfilment/_overdue.html",
            rows=rows,
            pager=pager.with_total(total),
            today=today,
            soon=soon,
        )

    async def _quarterly(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        region: str | None,
        quarter: str | None,
        page_no: int = 1,
        *,
        pending: bool = False,
        **extra: Any,
    ) -> Template:
        user = require_user(request)
        regions = await households.regions_under(
            db, households.caseworker_paths(user), [RegionLevel.COUNTY, RegionLevel.TOWNSHIP]
        )
        quarter = quarter or service.quarter_of(service.today_local())
        service.quarter_bounds(quarter)
        chosen = await service.region_for_caseworker(
            db, user, region or (regions[0].code if regions else "")
        )
        pager = Page(number=page_no, size=30)
        rows, total = await repo.lists_under(
            db, chosen.path, quarter, offset=pager.offset, limit=pager.size, pending=pending
        )
        names = await households.masked_head_names(db, [q.household_id for q, _, _ in rows])
        return page(
            request,
            "fulfilment/quarterly.html",
            fragment="fulfilment/_lists.html",
            regions=regions,
            region=chosen,
            quarter=quarter,
            pending=pending,
            coverage=await repo.coverage(db, chosen.path, quarter, utcnow()),
            rows=[
                (q, region_name, names.get(q.household_id, ""), tail)
                for q, region_name, tail in rows
            ],
            pager=pager.with_total(total),
            **extra,
        )

    @get("/quarterly")
    async def quarterly(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        region: FromQuery[str | None] = None,
        quarter: FromQuery[str | None] = None,
        page_no: PageNo = 1,
        pending: Annotated[str, QueryParameter(max_length=1)] = "",
    ) -> Template:
        """The quarter's coverage and lists; ``?pending=1``: only lists not handed over yet."""
        return await self._quarterly(request, db, region, quarter, page_no, pending=pending == "1")

    @get("/quarterly/print")
    async def print_lists(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        region: Annotated[str, QueryParameter(max_length=20)],
        quarter: Annotated[str, QueryParameter(max_length=7)],
    ) -> Response[bytes]:
        """One PDF of every generated list of a community for the quarter, in print order."""
        data = await lists.combined_pdf(
            db, require_user(request), region_code=region, quarter=quarter
        )
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="xingfu-{quarter}-{region}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )

    @post("/quarterly/batches")
    async def start(self, request: Request[Any, Any, Any], db: DB, data: Form) -> Redirect:
        batch_id = await lists.start_batch(
            db,
            require_user(request),
            runtime_of(request.app.state).queue,
            region_code=data.get("region", ""),
            quarter=data.get("quarter", ""),
        )
        return Redirect(f"/fulfilment/quarterly/batches/{batch_id}", status_code=303)

    @get("/quarterly/batches/{batch_id:uuid}")
    async def batch(
        self, request: Request[Any, Any, Any], batch_id: FromPath[uuid.UUID]
    ) -> Template:
        status = await lists.batch_status(
            runtime_of(request.app.state).queue.pool, require_user(request), batch_id
        )
        return page(
            request, "fulfilment/batch.html", fragment="fulfilment/_batch.html", status=status
        )

    @get("/lists/{list_id:uuid}/pdf")
    async def list_pdf(
        self, request: Request[Any, Any, Any], db: DB, list_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        row = await service.list_for_caseworker(db, require_user(request), list_id)
        data = _storage(request).get(row.file_path) if row.file_path else None
        if data is None:
            raise NotFound(N_("This list has not been generated yet."))
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="xingfu-{row.quarter}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )

    @post("/lists/{list_id:uuid}/handover")
    async def handover(
        self, request: Request[Any, Any, Any], db: DB, list_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        row = await service.hand_over(db, require_user(request), list_id)
        if request.headers.get("hx-request") == "true":
            return page(request, "fulfilment/_handed.html", row=row)
        region = await households.region_code_of(db, row.household_id)
        return Redirect(
            f"/fulfilment/quarterly?quarter={row.quarter}&region={region[:6]}", status_code=303
        )


class VisitViews(Controller):
    """Visits for the caseworker of the region, or the volunteer / staff member assigned."""

    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/visits")
    async def mine(self, request: Request[Any, Any, Any], db: DB) -> Template:
        rows = await repo.assigned_to(db, require_user(request).id)
        return page(
            request, "fulfilment/visits.html", rows=rows, today=service.today_local(), form={}
        )

    @post("/visits/{household_id:uuid}")
    async def record(
        self, request: Request[Any, Any, Any], db: DB, household_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            await service.record_visit(
                db,
                user,
                household_id,
                visited_on=_date(data.get("visited_on")),
                notes=data.get("notes", ""),
            )
        except Invalid as exc:
            # The form again, the message next to its field, what was typed kept.
            if user.has_role(Role.CASEWORKER) and data.get("back") == "household":
                return await _household_page(
                    request,
                    db,
                    household_id,
                    status_code=exc.status_code,
                    form=data,
                    **error_context(exc),
                )
            return page(
                request,
                "fulfilment/visits.html",
                status_code=exc.status_code,
                rows=await repo.assigned_to(db, user.id),
                today=service.today_local(),
                form=data,
                failed=household_id,
                **error_context(exc),
            )
        if user.has_role(Role.CASEWORKER) and data.get("back") == "household":
            return Redirect(f"/fulfilment/households/{household_id}?saved=visit", status_code=303)
        return Redirect("/visits?saved=visit", status_code=303)


# ---------------------------------------------------------------- the household's own page


class SelfServiceViews(Controller):
    """The household's own pages, one task per screen: its 幸福清单 first; "did you receive
    this?" (yes in one tap, no in two); a rating in one tap; sign out. The session ends after
    10 idle minutes. Every route takes the household from the session, never from the URL."""

    include_in_schema = False
    path = "/my"

    async def _household_id(self, request: Request[Any, Any, Any]) -> uuid.UUID | None:
        return await _store(request).household(request.cookies.get(COOKIE))

    def _signin(
        self,
        request: Request[Any, Any, Any],
        *,
        status_code: int = 200,
        form: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Template:
        user = user_of(request)
        if user is not None and user.approved_org_ids():
            # The deliverer's phone scanned the card: this is the door, not the household's list.
            template = "household_self/door.html"
        else:
            template = "household_self/signin.html"
        tpl = page(
            request,
            template,
            status_code=status_code,
            form=form or {},
            idle_minutes=IDLE_SECONDS // 60,
            **extra,
        )
        tpl.headers.update({"Cache-Control": "no-store"})
        return tpl

    async def _record(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        household_id: uuid.UUID,
        *,
        status_code: int = 200,
        saved: str | None = None,
        **extra: Any,
    ) -> Template:
        record = await service.household_record(db, household_id)
        tpl = page(
            request,
            "household_self/record.html",
            status_code=status_code,
            record=record,
            saved=saved,
            quarter=service.quarter_of(service.today_local()),
            idle_minutes=IDLE_SECONDS // 60,
            **extra,
        )
        tpl.headers.update({"Cache-Control": "no-store"})
        return tpl

    @get("")
    async def home(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        saved: Annotated[str | None, QueryParameter(name="saved")] = None,
        ended: Annotated[str | None, QueryParameter(name="ended")] = None,
        card: Annotated[str | None, QueryParameter(name="card")] = None,
    ) -> Template:
        household_id = await self._household_id(request)
        if household_id is not None and ended:  # the page's own idle timer ran out
            await _store(request).close(request.cookies.get(COOKIE))
            household_id = None
        if household_id is None:
            return self._signin(request, ended=bool(ended), replaced=card == "replaced")
        return await self._record(request, db, household_id, saved=saved)

    @post("")
    async def signin(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        user = user_of(request)
        if user is not None and user.approved_org_ids():
            # A deliverer's phone: the PIN typed here confirms deliveries, it never opens the
            # household's list for the deliverer's account.
            raise Forbidden(
                N_(
                    "This phone is signed in to a helper's account. Open your list on your own phone."
                )
            )
        try:
            check = await households.verify_code_and_pin(
                db, data.get("code", ""), data.get("pin", ""), client_ip=client_ip(request)
            )
        except DomainError as exc:
            tpl = self._signin(
                request,
                status_code=exc.status_code,
                form={"code": data.get("code", "")},
                **error_context(exc),
            )
            tpl.headers.update(_retry_after(exc))
            return tpl
        session_token = await _store(request).open(check.household_id)
        response = Redirect("/my", status_code=303)
        response.cookies.append(
            Cookie(
                key=COOKIE,
                value=session_token,
                path="/my",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        )
        return response

    @post("/signout")
    async def signout(self, request: Request[Any, Any, Any]) -> Redirect:
        await _store(request).close(request.cookies.get(COOKIE))
        response = Redirect("/my?ended=signout", status_code=303)
        response.cookies.append(
            Cookie(key=COOKIE, value="", path="/my", max_age=0, httponly=True, samesite="strict")
        )
        return response

    async def _require(self, request: Request[Any, Any, Any]) -> uuid.UUID:
        household_id = await self._household_id(request)
        if household_id is None:
            raise NotFound(N_("Your session has ended. Enter your code and PIN again."))
        return household_id

    async def _pending(
        self, db: DB, household_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> service.PendingItem:
        record = await service.household_record(db, household_id)
        for item in record.pending:
            if item.delivery_id == delivery_id and item.state == DeliveryState.RECORDED.value:
                return item
        raise NotFound(N_("Delivery not found."))

    @get("/deliveries/{delivery_id:uuid}")
    async def delivery(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID]
    ) -> Template:
        """ "Did you receive this?" — yes (one tap) or no (then one more to be sure)."""
        return await self._delivery_page(request, db, delivery_id, asking=False)

    async def _delivery_page(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: uuid.UUID, *, asking: bool
    ) -> Template:
        item = await self._pending(db, await self._require(request), delivery_id)
        return page(
            request,
            "household_self/delivery.html",
            item=item,
            asking=asking,
            idle_minutes=IDLE_SECONDS // 60,
        )

    @post("/deliveries/{delivery_id:uuid}/received")
    async def received(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID]
    ) -> Redirect:
        household_id = await self._require(request)
        await service.confirm_by_household(db, delivery_id, household_id=household_id)
        return Redirect("/my?saved=received", status_code=303)

    @get("/deliveries/{delivery_id:uuid}/not-received")
    async def not_received_check(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID]
    ) -> Template:
        return await self._delivery_page(request, db, delivery_id, asking=True)

    @post("/deliveries/{delivery_id:uuid}/not-received")
    async def not_received(
        self, request: Request[Any, Any, Any], db: DB, delivery_id: FromPath[uuid.UUID]
    ) -> Redirect:
        household_id = await self._require(request)
        await service.report_not_received(db, delivery_id, household_id=household_id)
        return Redirect("/my?saved=disputed", status_code=303)

    @post("/deliveries/{delivery_id:uuid}/feedback")
    async def rate(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        delivery_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        """One tap: each star is its own submit button (an optional comment rides along)."""
        household_id = await self._require(request)
        try:
            await service.give_feedback(
                db,
                delivery_id,
                _int(data.get("rating")),
                data.get("comment", ""),
                household_id=household_id,
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return await self._record(
                request, db, household_id, status_code=exc.status_code, **error_context(exc)
            )
        return Redirect("/my?saved=rated", status_code=303)

    @get("/lists/{quarter:str}")
    async def list_pdf(
        self, request: Request[Any, Any, Any], db: DB, quarter: FromPath[str]
    ) -> Response[bytes]:
        household_id = await self._require(request)
        start, end = service.quarter_bounds(quarter)
        record = await service.household_record(db, household_id, start=start, end=end)
        masked_name = await households.masked_head_name(db, household_id)
        pdf = await anyio.to_thread.run_sync(  # WeasyPrint: CPU work off the event loop
            partial(render_pdf, record, quarter, start, end, masked_name=masked_name)
        )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="xingfu-{quarter}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )
