"""Pages of the grievance channel: report a problem, follow it by code, handle it, figures."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from backend.core.db import utcnow
from backend.core.errors import DomainError, RateLimited
from backend.core.http import DB, Form, error_context
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.ratelimit import RateLimit
from backend.core.runtime import runtime_of
from backend.core.security import login_required, require_user, user_of
from backend.core.templating import page, safe
from backend.fulfilment.selfservice import COOKIE, SelfServiceStore
from backend.grievance import service
from backend.grievance.models import ReportStage, ReportType
from backend.privacy.scanner import mark_spans_html

TRACK_LIMIT = 30  # code look-ups per IP per 10 minutes


def _error(exc: DomainError, *, reason_field: str = "reason") -> dict[str, Any]:
    """The form error's context; the shared reason field is named after its form on the page."""
    context = error_context(exc)
    fields = dict(context["fields"])
    if "reason" in fields and reason_field != "reason":
        fields[reason_field] = fields.pop("reason")
    return {**context, "fields": fields}


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def _limit(state: State, name: str, limit: int, window: int, subject: str) -> None:
    wait = await RateLimit(runtime_of(state).queue.pool, name, limit=limit, window=window).hit(
        subject
    )
    if wait:
        raise RateLimited(
            N_("Too many reports from here. Please wait and try again."), retry_after=wait
        )


async def _household(request: Request[Any, Any, Any]) -> uuid.UUID | None:
    store = SelfServiceStore(runtime_of(request.app.state).queue.pool)
    return await store.household(request.cookies.get(COOKIE))


class PublicReportViews(Controller):
    """Anyone may report, signed in or not; the tracking code is the only key to follow it."""

    path = "/report"
    include_in_schema = False

    @get("/", name="report_new")
    async def new(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        on: Annotated[str, QueryParameter(max_length=20)] = "none",
        subject_id: Annotated[str, QueryParameter(name="id", max_length=40)] = "",
    ) -> Template:
        title = await self._subject_title(db, on, subject_id)
        return page(
            request,
            "grievance/new.html",
            form={"on": on if title else "none", "id": subject_id if title else ""},
            subject_title=title,
            types=list(ReportType),
        )

    async def _subject_title(self, db: DB, on: str, subject_id: str) -> str:
        return await service.subject_title(db, on, subject_id)

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template | Redirect:
        user = user_of(request)
        await _limit(
            state,
            "report",
            runtime_of(state).settings.report_limit_per_hour,
            3600,
            f"user:{user.id}" if user else f"ip:{_ip(request)}",
        )
        try:
            report = await service.submit(
                db,
                runtime_of(state).settings,
                service.Reporter(user=user),
                report_type=data.get("type", ""),
                subject_type=data.get("on", "none"),
                subject_id=data.get("id", ""),
                text=data.get("text", ""),
                contact=data.get("contact", ""),
                locale=str(request.scope.get("locale") or "zh_CN"),
            )
        except DomainError as exc:
            return page(
                request,
                "grievance/new.html",
                status_code=exc.status_code,
                form=data,
                subject_title=await self._subject_title(db, data.get("on", ""), data.get("id", "")),
                types=list(ReportType),
                **_error(exc),
            )
        return Redirect(f"/report/track/{report.tracking_code}?new=1", status_code=303)

    @get("/track", name="report_track")
    async def track_form(
        self,
        request: Request[Any, Any, Any],
        code: Annotated[str, QueryParameter(max_length=40)] = "",
    ) -> Template | Redirect:
        if code:
            return Redirect(f"/report/track/{service.normalize_code(code)}", status_code=303)
        return page(request, "grievance/track_form.html", form={})

    @get("/track/{code:str}")
    async def track(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        code: FromPath[str],
        new: Annotated[str, QueryParameter(max_length=2)] = "",
    ) -> Template:
        await _limit(state, "report_track", TRACK_LIMIT, 600, _ip(request))
        try:
            found = await service.track(db, code[:40])
        except DomainError as exc:
            return page(
                request,
                "grievance/track_form.html",
                status_code=exc.status_code,
                form={"code": code[:40]},
                **_error(exc),
            )
        return page(request, "grievance/track.html", report=found, new=bool(new))


class HouseholdReportViews(Controller):
    """The household reports from its own self-service session and sees its own reports."""

    path = "/my/reports"
    include_in_schema = False

    @get("/")
    async def listing(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        household = await _household(request)
        if household is None:
            return Redirect("/my", status_code=303)
        return page(
            request,
            "grievance/household.html",
            reports=await service.of_household(db, household),
            form={},
            types=list(ReportType),
        )

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template | Redirect:
        household = await _household(request)
        if household is None:
            return Redirect("/my", status_code=303)
        await _limit(
            state,
            "report",
            runtime_of(state).settings.report_limit_per_hour,
            3600,
            f"household:{household}",
        )
        delivery = data.get("delivery", "")
        try:
            await service.submit(
                db,
                runtime_of(state).settings,
                service.Reporter(household_id=household),
                report_type=data.get("type", ""),
                subject_type="delivery" if delivery else "none",
                subject_id=delivery,
                text=data.get("text", ""),
                contact="",
                locale=str(request.scope.get("locale") or "zh_CN"),
            )
        except DomainError as exc:
            return page(
                request,
                "grievance/household.html",
                status_code=exc.status_code,
                reports=await service.of_household(db, household),
                form=data,
                types=list(ReportType),
                **_error(exc),
            )
        return Redirect("/my/reports?saved=1", status_code=303)


class HandlerReportViews(Controller):
    """Reports for the people who handle them, and each signed-in user's own reports."""

    path = "/reports"
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/", name="reports")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        stage: Annotated[str, QueryParameter(max_length=20)] = "",
        report_type: Annotated[str, QueryParameter(name="type", max_length=20)] = "",
        page_no: Annotated[int, QueryParameter(name="page", ge=1, le=10_000)] = 1,
    ) -> Template:
        rows, pager = await service.queue(
            db,
            require_user(request),
            Page(number=page_no, size=20),
            stage=stage,
            report_type=report_type,
        )
        return page(
            request,
            "grievance/queue.html",
            rows=rows,
            pager=pager,
            stage=stage,
            report_type=report_type,
            stages=list(ReportStage),
            types=list(ReportType),
            now=utcnow(),
            code_of=service.display_code,
            due_day=service.due_day,
        )

    @get("/mine", name="my_reports")
    async def mine(self, request: Request[Any, Any, Any], db: DB) -> Template:
        return page(
            request, "grievance/mine.html", reports=await service.mine(db, require_user(request))
        )

    @get("/figures", name="report_figures")
    async def figures(self, request: Request[Any, Any, Any], state: State, db: DB) -> Template:
        figures = await service.figures(db, runtime_of(state).settings, require_user(request))
        return page(
            request,
            "grievance/figures.html",
            figures=figures,
            stages=list(ReportStage),
            types=list(ReportType),
            ack_days=runtime_of(state).settings.report_ack_working_days,
            answer_days=runtime_of(state).settings.report_answer_working_days,
        )

    async def _detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        report_id: uuid.UUID,
        *,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        view = await service.open_report(db, require_user(request), report_id)
        return page(
            request,
            "grievance/detail.html",
            status_code=status_code,
            view=view,
            r=view.report,
            code=service.display_code(view.report.tracking_code),
            marked_text=safe(mark_spans_html(view.text, view.findings)),
            due_day=service.due_day,
            form=extra.pop("form", {}),
            **extra,
        )

    @get("/{report_id:uuid}", name="report_detail")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        report_id: FromPath[uuid.UUID],
        saved: Annotated[str, QueryParameter(max_length=20)] = "",
    ) -> Template:
        return await self._detail(request, db, report_id, saved=saved)

    @post("/{report_id:uuid}/move")
    async def move(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.move(
                db,
                require_user(request),
                report_id,
                to_stage=data.get("stage", ""),
                reason=data.get("reason", ""),
                outcome=data.get("outcome", ""),
            )
        except DomainError as exc:
            extra: dict[str, Any] = {}
            if isinstance(exc, service.PersonalDataInAnswer):
                extra["marked_outcome"] = safe(
                    mark_spans_html(data.get("outcome", ""), exc.findings)
                )
            return await self._detail(
                request,
                db,
                report_id,
                status_code=exc.status_code,
                form=data,
                **extra,
                **_error(exc),
            )
        return Redirect(f"/reports/{report_id}?saved=moved", status_code=303)

    @post("/{report_id:uuid}/release")
    async def release(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.release_hold(
                db, require_user(request), report_id, reason=data.get("release_reason", "")
            )
        except DomainError as exc:
            return await self._detail(
                request,
                db,
                report_id,
                status_code=exc.status_code,
                form=data,
                **_error(exc, reason_field="release_reason"),
            )
        return Redirect(f"/reports/{report_id}?saved=released", status_code=303)

    @post("/{report_id:uuid}/donations")
    async def donations(
        self, request: Request[Any, Any, Any], db: DB, report_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        try:
            await service.set_donations_paused(
                db,
                require_user(request),
                report_id,
                paused=data.get("paused") == "1",
                reason=data.get("decision_reason", ""),
            )
        except DomainError as exc:
            return await self._detail(
                request,
                db,
                report_id,
                status_code=exc.status_code,
                form=data,
                **_error(exc, reason_field="decision_reason"),
            )
        return Redirect(f"/reports/{report_id}?saved=donations", status_code=303)


class TransparencyViews(Controller):
    path = "/transparency"
    include_in_schema = False

    @get("/", name="transparency")
    async def transparency(self, request: Request[Any, Any, Any], db: DB) -> Template:
        return page(
            request,
            "grievance/transparency.html",
            months=await service.transparency(db),
            types=list(ReportType),
        )
