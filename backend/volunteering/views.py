"""Volunteer task pages, sign-up and cancel, the roster and attendance, hours and their
review, the volunteer's verified hours, certificate download and the public check page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.models import Role
from backend.core.errors import DomainError, Invalid, NotFound
from backend.core.http import DB, Form, form_error
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.core.security import login_required, require_user, roles_required
from backend.core.templating import SHANGHAI, page
from backend.grievance import service as grievance
from backend.grievance.models import SubjectType
from backend.organizations.scope import is_member, require_member
from backend.regions.models import RegionLevel
from backend.regions.service import by_level
from backend.resources import service as resources_service
from backend.resources.views import parse_int
from backend.volunteering import certificate, service
from backend.volunteering import repository as repo
from backend.volunteering.models import TaskState

PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


def parse_local(value: str | None) -> datetime | None:
    """A ``datetime-local`` or date field in Asia/Shanghai → aware UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(UTC)


def slot_in(data: dict[str, str]) -> service.SlotIn:
    return service.SlotIn(
        parse_local(data.get("starts_at")),
        parse_local(data.get("ends_at")),
        parse_int(data.get("capacity")),
    )


class TaskViews(Controller):
    include_in_schema = False

    @get("/tasks", name="tasks")
    async def list_tasks(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        category: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        pager = Page(number=page_no, size=12)
        rows, total = await repo.open_tasks(
            db, category=category or None, offset=pager.offset, limit=pager.size
        )
        return page(
            request,
            "volunteering/list.html",
            fragment="volunteering/_list.html",
            rows=rows,
            pager=pager.with_total(total),
            category=category or "",
            categories=service.TASK_CATEGORIES,
            region_names=await resources_service.region_names(db, [t.region_code for t, _ in rows]),
        )

    async def _detail_context(
        self, request: Request[Any, Any, Any], db: DB, task_id: uuid.UUID
    ) -> dict[str, Any]:
        found = await repo.task_with_org(db, task_id)
        if found is None:
            raise NotFound(N_("Task not found."))
        task, org = found
        member = is_member(request.user, org.id)
        if task.state == TaskState.CANCELLED and not member:
            raise NotFound(N_("Task not found."))
        slots = await repo.slots(db, task.id)
        user = request.user if request.user else None
        mine = await repo.my_signups(db, user.id, [s.id for s in slots]) if user else {}
        can_sign_up = user is not None and (user.has_role(Role.VOLUNTEER) or user.is_admin)
        return {
            "task": task,
            "org": org,
            "slots": slots,
            "mine": mine,
            "member": member,
            "can_sign_up": can_sign_up,
            "now": datetime.now(UTC),
            "form": {},
            "region_names": await resources_service.region_names(db, [task.region_code]),
            "held": await grievance.held(db, SubjectType.TASK, task.id),
        }

    @get("/tasks/{task_id:uuid}", name="task")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        task_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        return page(
            request,
            "volunteering/detail.html",
            saved=saved,
            **await self._detail_context(request, db, task_id),
        )

    @get("/org/{org_id:uuid}/tasks/new", guards=[login_required])
    async def new_form(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        require_member(require_user(request), org_id)
        return page(
            request,
            "volunteering/form.html",
            org_id=org_id,
            form={"capacity": "5"},
            categories=service.TASK_CATEGORIES,
            regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
        )

    @post("/org/{org_id:uuid}/tasks", guards=[login_required])
    async def create(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        require_member(user, org_id)
        try:
            task = await service.create_task(
                db,
                user,
                org_id,
                title=data.get("title", ""),
                description=data.get("description", ""),
                category=data.get("category", ""),
                region_code=data.get("region_code", ""),
                place=data.get("place", ""),
                slot=slot_in(data),
            )
        except DomainError as exc:
            return form_error(
                request,
                "volunteering/form.html",
                exc,
                org_id=org_id,
                form=data,
                categories=service.TASK_CATEGORIES,
                regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
            )
        return Redirect(f"/tasks/{task.id}?saved=created", status_code=303)

    async def _rerender(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        task_id: uuid.UUID,
        exc: DomainError,
        form: dict[str, str],
    ) -> Template:
        if exc.status_code in (403, 404):
            raise exc
        context = await self._detail_context(request, db, task_id)
        context["form"] = form
        return form_error(request, "volunteering/detail.html", exc, saved=None, **context)

    @post("/tasks/{task_id:uuid}/slots", guards=[login_required])
    async def add_slot(
        self, request: Request[Any, Any, Any], db: DB, task_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.add_slot(db, require_user(request), task_id, slot_in(data))
        except DomainError as exc:
            return await self._rerender(request, db, task_id, exc, data)
        return Redirect(f"/tasks/{task_id}?saved=slot", status_code=303)

    @post("/tasks/{task_id:uuid}/close", guards=[login_required])
    async def close(
        self, request: Request[Any, Any, Any], db: DB, task_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await service.close_task(db, require_user(request), task_id)
        return Redirect(f"/tasks/{task_id}?saved=closed", status_code=303)

    @post("/slots/{slot_id:uuid}/signup", guards=[login_required])
    async def sign_up(
        self, request: Request[Any, Any, Any], db: DB, slot_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        found = await repo.slot_with_task(db, slot_id)
        if found is None:
            raise NotFound(N_("Task not found."))
        try:
            await service.sign_up(db, require_user(request), slot_id)
        except DomainError as exc:
            return await self._rerender(request, db, found[1].id, exc, {})
        return Redirect(f"/tasks/{found[1].id}?saved=signed_up", status_code=303)

    @post("/slots/{slot_id:uuid}/cancel", guards=[login_required])
    async def cancel(
        self, request: Request[Any, Any, Any], db: DB, slot_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        found = await repo.slot_with_task(db, slot_id)
        if found is None:
            raise NotFound(N_("Task not found."))
        try:
            await service.cancel_signup(db, require_user(request), slot_id)
        except DomainError as exc:
            return await self._rerender(request, db, found[1].id, exc, {})
        return Redirect(f"/tasks/{found[1].id}?saved=cancelled", status_code=303)

    @get("/tasks/{task_id:uuid}/roster", guards=[login_required])
    async def roster(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        task_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        found = await repo.task_with_org(db, task_id)
        if found is None:
            raise NotFound(N_("Task not found."))
        require_member(require_user(request), found[1].id)
        return page(
            request,
            "volunteering/roster.html",
            task=found[0],
            org=found[1],
            saved=saved,
            rows=await repo.roster(db, task_id),
        )

    @post("/signups/{signup_id:uuid}/attendance", guards=[login_required])
    async def attendance(
        self, request: Request[Any, Any, Any], db: DB, signup_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        signup = await service.record_attendance(
            db,
            require_user(request),
            signup_id,
            attended=data.get("attended") == "yes",
            minutes=parse_int(data.get("minutes")),
        )
        found = await repo.slot_with_task(db, signup.slot_id)
        assert found is not None
        return Redirect(f"/tasks/{found[1].id}/roster?saved=attendance", status_code=303)

    @get("/org/{org_id:uuid}/hours", guards=[login_required])
    async def pending(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        require_member(require_user(request), org_id)
        return page(
            request,
            "volunteering/review.html",
            org_id=org_id,
            rows=await repo.pending_hours(db, org_id),
            saved=saved,
        )

    @post("/hours/{hours_id:uuid}/review", guards=[login_required])
    async def review(
        self, request: Request[Any, Any, Any], db: DB, hours_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        decision = data.get("decision", "")
        user = require_user(request)
        if decision not in {"approve", "reject"}:
            raise Invalid(N_("Choose approve or reject."), fields={"decision": "invalid"})
        log = await service.review_hours(db, user, hours_id, approve=decision == "approve")
        return Redirect(
            f"/org/{log.organization_id}/hours?saved={log.state.value}", status_code=303
        )


class VolunteerViews(Controller):
    include_in_schema = False
    guards = [roles_required(Role.VOLUNTEER)]  # noqa: RUF012 - Litestar API

    async def _context(self, db: DB, user_id: uuid.UUID) -> dict[str, Any]:
        return {
            "verified": await repo.verified_minutes(db, user_id),
            "by_org": await repo.verified_by_org(db, user_id),
            "logs": await repo.hours_of(db, user_id),
            "certificates": await repo.certificates_of(db, user_id),
            "orgs": await repo.volunteer_orgs(db, user_id),
        }

    @get("/volunteer/hours", name="volunteer_hours")
    async def hours(
        self, request: Request[Any, Any, Any], db: DB, saved: FromQuery[str | None] = None
    ) -> Template:
        user = require_user(request)
        return page(
            request,
            "volunteering/hours.html",
            saved=saved,
            form={},
            **await self._context(db, user.id),
        )

    @post("/volunteer/hours")
    async def log(self, request: Request[Any, Any, Any], db: DB, data: Form) -> Template | Redirect:
        user = require_user(request)
        try:
            org = data.get("organization_id", "")
            org_id = uuid.UUID(org) if org else None
        except ValueError:
            org_id = None
        try:
            await service.log_hours(
                db,
                user,
                organization_id=org_id,
                served_on=parse_local(data.get("served_on")),
                minutes=parse_int(data.get("minutes")),
                note=data.get("note", ""),
            )
        except DomainError as exc:
            return form_error(
                request,
                "volunteering/hours.html",
                exc,
                saved=None,
                form=data,
                **await self._context(db, user.id),
            )
        return Redirect("/volunteer/hours?saved=logged", status_code=303)

    @post("/volunteer/certificates")
    async def issue(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        user = require_user(request)
        try:
            cert = await service.issue_certificate(db, user)
        except DomainError as exc:
            return form_error(
                request,
                "volunteering/hours.html",
                exc,
                saved=None,
                form={},
                **await self._context(db, user.id),
            )
        return Redirect(f"/volunteer/certificates/{cert.id}/pdf", status_code=303)

    @get("/volunteer/certificates/{cert_id:uuid}/pdf")
    async def pdf(
        self, request: Request[Any, Any, Any], state: State, db: DB, cert_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        user = require_user(request)
        cert, volunteer_name = await service.own_certificate(db, user, cert_id)
        by_org = await repo.verified_by_org(db, user.id)
        data = await anyio.to_thread.run_sync(  # WeasyPrint: CPU work off the event loop
            partial(
                certificate.render_pdf,
                volunteer_name=volunteer_name,
                total_minutes=cert.total_minutes,
                by_org=by_org,
                issued_at=cert.issued_at,
                check_code=cert.check_code,
                base_url=runtime_of(state).settings.base_url,
            )
        )
        return Response(
            data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="certificate-{cert.check_code}.pdf"'
            },
        )


class CertificateCheckViews(Controller):
    include_in_schema = False

    @get("/certificates/{check_code:str}", name="certificate_check")
    async def check(
        self, request: Request[Any, Any, Any], db: DB, check_code: FromPath[str]
    ) -> Template:
        found = await repo.certificate_by_code(db, check_code.strip().upper()[:32])
        if found is None:
            return page(
                request,
                "volunteering/check.html",
                status_code=404,
                cert=None,
                name="",
                code=check_code[:32],
            )
        cert, user = found
        return page(
            request,
            "volunteering/check.html",
            cert=cert,
            name=service.masked_name(user.display_name),
            code=cert.check_code,
        )
