"""The auditor's workspace (``/audit``): the log viewer, chain verification, the CSV export of
a filtered range and the reports. Read-only except the export's own audit entry."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import QueryParameter
from litestar.response import Stream, Template

from backend.accounts.models import Role
from backend.audit import workspace
from backend.audit.labels import ACTOR_KIND_LABELS, OBJECT_LABELS
from backend.core.bounds import BIGINT_MAX
from backend.core.csvexport import csv_response, csv_stream, csv_stream_async, header
from backend.core.errors import DomainError
from backend.core.http import DB, Form, error_context
from backend.core.runtime import runtime_of
from backend.core.security import current_locale, require_user, user_of
from backend.core.templating import page
from backend.regions.models import RegionLevel
from backend.regions.service import by_level, get_region

Text = Annotated[str, QueryParameter(max_length=254)]
Short = Annotated[str, QueryParameter(max_length=64)]
Month = Annotated[str, QueryParameter(max_length=7, pattern=r"^(\d{4}-\d{2})?$")]
Day = Annotated[str, QueryParameter(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")]


def auditor_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Only the auditor role: the log is not a page of the platform admin (separation of duties)."""
    user = user_of(connection)
    if user is None:
        raise NotAuthorizedException()
    if not user.has_role(Role.AUDITOR):
        raise PermissionDeniedException()


async def _region_path(db: DB, code: str) -> str | None:
    region = await get_region(db, code)
    return region.path if region else None


async def _choices(db: DB) -> dict[str, Any]:
    regions = await by_level(db, RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)
    return {
        "regions": regions,
        "actions": workspace.action_choices(),
        "objects": sorted(OBJECT_LABELS.items()),
        "kinds": list(ACTOR_KIND_LABELS.items()),
    }


class AuditorViews(Controller):
    path = "/audit"
    include_in_schema = False
    guards = [auditor_only]  # noqa: RUF012 - Litestar API

    @get("/", name="audit_log")
    async def log(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        who: Text = "",
        kind: Short = "",
        action: Short = "",
        object_: Annotated[str, QueryParameter(name="object", max_length=32)] = "",
        object_id: Short = "",
        region: Annotated[str, QueryParameter(max_length=12, pattern=r"^\d*$")] = "",
        since: Day = "",
        until: Day = "",
        row: Annotated[str, QueryParameter(max_length=18, pattern=r"^\d*$")] = "",
        after: Annotated[str, QueryParameter(max_length=60)] = "",
    ) -> Template:
        raw = {
            "who": who,
            "kind": kind,
            "action": action,
            "object": object_,
            "object_id": object_id,
            "region": region,
            "since": since,
            "until": until,
            "row": row,
        }
        context = await _choices(db)
        try:
            query = await workspace.parse_filter(
                db, raw, region_path_of=lambda code: _region_path(db, code)
            )
        except DomainError as exc:
            return _filter_error(request, raw, context, exc)
        view = await workspace.log_view(db, query, cursor=after, locale=current_locale.get())
        filters = "&".join(f"{k}={v}" for k, v in query.form.items() if v)
        return page(
            request,
            "audit/log.html",
            fragment="audit/_rows.html",
            form=query.form,
            view=view,
            filters=filters,
            first_page=not after,
            **context,
        )

    @post("/export", name="audit_export", status_code=200)
    async def export(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Stream | Template:
        user = require_user(request)
        raw = {k: str(data.get(k, ""))[:254] for k in workspace.FILTER_FIELDS}
        try:
            query = await workspace.parse_filter(
                db, raw, region_path_of=lambda code: _region_path(db, code)
            )
        except DomainError as exc:
            return _filter_error(request, raw, await _choices(db), exc)
        export_id = await workspace.record_export(db, user, query)
        locale = current_locale.get()
        body = csv_stream_async(
            header(workspace.EXPORT_COLUMNS, locale),
            workspace.export_batches(runtime_of(state).sessionmaker, query, locale=locale),
        )
        return csv_response(f"audit-log-{export_id.hex[:8]}.csv", body)

    @get("/verify", name="audit_verify")
    async def verify(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        mode: Annotated[str, QueryParameter(max_length=12, pattern=r"^(incremental|full)?$")] = "",
        from_seq: Annotated[int | None, QueryParameter(name="from", ge=1, le=BIGINT_MAX)] = None,
        checked: Annotated[int, QueryParameter(ge=0, le=BIGINT_MAX)] = 0,
        started_after: Annotated[int, QueryParameter(name="after", ge=0, le=BIGINT_MAX)] = 0,
    ) -> Template:
        step = await workspace.verify_step(
            db,
            full=mode == "full",
            from_seq=from_seq,
            checked=checked if from_seq else 0,
            started_after=started_after,
        )
        return page(request, "audit/verify.html", fragment="audit/_verify.html", step=step)

    @get("/reports/access", name="audit_access_report")
    async def access_report(
        self, request: Request[Any, Any, Any], db: DB, since: Month = "", until: Month = ""
    ) -> Template:
        return await self._report(request, db, "access", since, until)

    @get("/reports/overrides", name="audit_overrides_report")
    async def overrides_report(
        self, request: Request[Any, Any, Any], db: DB, since: Month = "", until: Month = ""
    ) -> Template:
        return await self._report(request, db, "overrides", since, until)

    @get("/reports/disbursements", name="audit_disbursements_report")
    async def disbursements_report(
        self, request: Request[Any, Any, Any], db: DB, since: Month = "", until: Month = ""
    ) -> Template:
        return await self._report(request, db, "disbursements", since, until)

    @post("/reports/export", name="audit_report_export", status_code=200)
    async def report_export(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Stream | Template:
        user = require_user(request)
        kind = data.get("kind", "")
        if kind not in workspace.REPORT_KINDS:
            kind = "access"
        since, until = str(data.get("since", ""))[:7], str(data.get("until", ""))[:7]
        try:
            first, last = workspace.month_range(since, until)
        except DomainError as exc:
            return page(
                request,
                "audit/report.html",
                status_code=exc.status_code,
                kind=kind,
                form={"since": since, "until": until},
                lines=[],
                limit=workspace.REPORT_LIMIT,
                **error_context(exc),
            )
        locale = current_locale.get()
        rows = await workspace.report_rows(db, user, kind, first, last, locale=locale)
        head = header(workspace.REPORT_COLUMNS[kind], locale)
        name = f"audit-{kind}-{first:%Y%m}-{last:%Y%m}.csv"
        return csv_response(name, csv_stream(head, rows))

    async def _report(
        self, request: Request[Any, Any, Any], db: DB, kind: str, since: str, until: str
    ) -> Template:
        form = {"since": since, "until": until}
        try:
            first, last = workspace.month_range(since, until)
        except DomainError as exc:
            return page(
                request,
                "audit/report.html",
                status_code=exc.status_code,
                kind=kind,
                form=form,
                lines=[],
                limit=workspace.REPORT_LIMIT,
                **error_context(exc),
            )
        if kind == "access":
            lines: list[Any] = list(await workspace.access_report(db, first, last))
        elif kind == "overrides":
            lines = list(
                await workspace.overrides_report(db, first, last, locale=current_locale.get())
            )
        else:
            lines = list(await workspace.disbursements_report(db, first, last))
        return page(
            request,
            "audit/report.html",
            kind=kind,
            form={"since": first.strftime("%Y-%m"), "until": last.strftime("%Y-%m")},
            lines=lines,
            limit=workspace.REPORT_LIMIT,
        )


def _filter_error(
    request: Request[Any, Any, Any],
    raw: dict[str, str],
    choices: dict[str, Any],
    exc: DomainError,
) -> Template:
    """The log page again with the filters as typed and the error next to its field."""
    return page(
        request,
        "audit/log.html",
        status_code=exc.status_code,
        form=raw,
        view=None,
        filters="",
        **choices,
        **error_context(exc),
    )
