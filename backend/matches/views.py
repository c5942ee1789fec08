"""Coordinator pages (queue, runs, fairness) and the organization's match inbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.models import Role
from backend.core.errors import Invalid, NotFound
from backend.core.http import DB, Form
from backend.core.i18n import N_, get_translations
from backend.core.pagination import Page
from backend.core.security import current_locale, org_member_required, require_user, roles_required
from backend.core.templating import page, translate
from backend.items import service as items
from backend.matches import fairness, service
from backend.matches import repository as repo
from backend.matches.models import MatchState, RunState
from backend.needs.models import Urgency
from backend.resources import service as resources_service
from matching.explain import render_item
from matching.items import Taxonomy

PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


def explain_lines(items: list[Any]) -> list[str]:
    """An explanation ``[[msgid, params], …]`` in the reader's language, one line per item."""
    locale = current_locale.get()
    gettext = get_translations(locale).gettext
    lines = []
    for item in items or []:
        if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str)):
            continue
        params = item[1] if isinstance(item[1], dict) else {}
        try:
            lines.append(render_item((item[0], params), gettext, locale))
        except (KeyError, IndexError, ValueError):
            lines.append(gettext(item[0]).split("{", 1)[0].strip())
    return lines


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def _region_labels(db: DB, rows: list[repo.MatchRow]) -> dict[str, str]:
    codes = {r.need.public_region_code or r.need.region_code for r in rows}
    return {
        code: region.name for code, region in (await repo.region_names(db, sorted(codes))).items()
    }


async def _labels(db: DB, needs: list[Any]) -> dict[str, Any]:
    """Names of categories and item kinds for the pages that show match cards."""
    locale = current_locale.get()
    categories = await repo.need_categories(db)
    return {
        "category_names": {
            c.code: (c.name_zh if locale == "zh_CN" else c.name_en) for c in categories
        },
        "kind_names": await _kind_names(db, needs, locale),
    }


async def _kind_names(db: DB, needs: list[Any], locale: str) -> dict[str, str]:
    """Item kind code → name in the reader's language, for the needs' counties (two queries
    whatever the needs)."""
    paths = await repo.region_paths(db, sorted({n.region_code for n in needs}))
    counties = {p.split(".")[2] for p in paths.values() if p.count(".") >= 2}
    return _taxonomy_names((await items.taxonomies_for(db, counties)).values(), locale)


def _taxonomy_names(taxonomies: Iterable[Taxonomy], locale: str) -> dict[str, str]:
    """The shared kinds' names, then each county's own."""
    names = {code: k.name(locale) for code, k in items.base_taxonomy().kinds.items()}
    for taxonomy in taxonomies:
        names.update({code: k.name(locale) for code, k in taxonomy.kinds.items()})
    return names


class CoordinationViews(Controller):
    path = "/coordination"
    include_in_schema = False
    guards = [roles_required(Role.COORDINATOR)]  # noqa: RUF012 - Litestar API

    @get("/matches", name="coordination_matches")
    async def queue(
        self,
        *,
        request: Request[Any, Any, Any],
        db: DB,
        category: FromQuery[str | None] = None,
        urgency: FromQuery[str | None] = None,
        org: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        user = require_user(request)
        scope = service.coordinator_scope(user)
        pager = Page(number=page_no, size=20)
        wanted_urgency = Urgency(urgency) if urgency in {u.value for u in Urgency} else None
        groups, total = await repo.coordinator_queue_by_need(
            db,
            scope,
            category=category or None,
            urgency=wanted_urgency,
            organization_id=_uuid(org),
            offset=pager.offset,
            limit=pager.size,
        )
        rows = [r for g in groups for r in g.rows]
        categories, orgs = await repo.queue_filters(db, scope)
        found = await service.alternatives(
            db, groups, amount_codes={c.code for c in categories if c.measure == "amount"}
        )
        locale = current_locale.get()
        query = "&".join(
            f"{k}={v}" for k, v in (("category", category), ("urgency", urgency), ("org", org)) if v
        )
        return page(
            request,
            "matches/queue.html",
            fragment="matches/_queue.html",
            rows=rows,
            groups=groups,
            alternatives=found.by_need,
            category_names={
                c.code: (c.name_zh if locale == "zh_CN" else c.name_en) for c in categories
            },
            kind_names=_taxonomy_names(found.taxonomies.values(), locale),
            pager=pager.with_total(total),
            categories=categories,
            orgs=orgs,
            urgencies=list(Urgency),
            filters={"category": category or "", "urgency": urgency or "", "org": org or ""},
            base_url="/coordination/matches" + (f"?{query}" if query else ""),
            explain=explain_lines,
            regions=await _region_labels(db, rows),
            done=done,
        )

    @post("/matches/{match_id:uuid}/approve")
    async def approve(
        self, request: Request[Any, Any, Any], db: DB, match_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await service.approve(db, require_user(request), match_id)
        return Redirect("/coordination/matches?done=approved", status_code=303)

    @post("/matches/{match_id:uuid}/reject")
    async def reject(
        self, request: Request[Any, Any, Any], db: DB, match_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        await service.reject(db, require_user(request), match_id, data.get("reason", ""))
        return Redirect("/coordination/matches?done=rejected", status_code=303)

    @get("/matches/{match_id:uuid}/reassign", name="coordination_reassign")
    async def reassign_form(
        self, request: Request[Any, Any, Any], db: DB, match_id: FromPath[uuid.UUID]
    ) -> Template:
        return await self._reassign_page(request, db, match_id)

    async def _reassign_page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        match_id: uuid.UUID,
        *,
        status_code: int = 200,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Template:
        match, need, options = await service.candidates(db, require_user(request), match_id)
        row = await repo.match_row(db, match_id)
        orgs = await repo.organizations_by_id(db, [c.organization_id for c in options])
        resources = await repo.resources_by_id(db, [c.resource_id for c in options])
        return page(
            request,
            "matches/reassign.html",
            status_code=status_code,
            match=match,
            need=need,
            row=row,
            options=options,
            orgs=orgs,
            resources=resources,
            explain=explain_lines,
            error=error,
            form=form or {},
            proposed=match.state == MatchState.PROPOSED,
            **await _labels(db, [need]),
        )

    @post("/matches/{match_id:uuid}/reassign")
    async def reassign(
        self, request: Request[Any, Any, Any], db: DB, match_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        resource_id = _uuid(data.get("resource_id"))
        try:
            if resource_id is None:
                raise Invalid(
                    N_("Choose the offer that should serve this need."),
                    fields={"resource_id": "required"},
                )
            await service.reassign(
                db, require_user(request), match_id, resource_id, data.get("reason", "")
            )
        except Invalid as exc:
            return await self._reassign_page(
                request,
                db,
                match_id,
                status_code=422,
                error=translate(exc.message, **exc.params),
                form=data,
            )
        return Redirect("/coordination/matches?done=reassigned", status_code=303)

    @post("/matches/bulk-approve")
    async def bulk_approve(self, request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
        user = require_user(request)
        form = await request.form()
        ids = (
            [i for i in (_uuid(v) for v in form.getall("match_id")) if i is not None]
            if "match_id" in form
            else []
        )
        if not ids:
            return page(
                request,
                "matches/bulk_confirm.html",
                status_code=422,
                rows=[],
                explain=explain_lines,
                error=translate(N_("Select at least one proposal to approve.")),
                regions={},
            )
        if form.get("confirm") != "yes":
            visible = await service.rows_to_approve(db, user, ids)
            return page(
                request,
                "matches/bulk_confirm.html",
                rows=visible,
                explain=explain_lines,
                error=None,
                regions=await _region_labels(db, visible),
                **await _labels(db, [r.need for r in visible]),
            )
        approved, skipped = await service.bulk_approve(db, user, ids)
        return Redirect(
            f"/coordination/matches?done=bulk&approved={approved}&skipped={skipped}",
            status_code=303,
        )

    @get("/runs", name="coordination_runs")
    async def runs(self, request: Request[Any, Any, Any], db: DB, page_no: PageNo = 1) -> Template:
        user = require_user(request)
        scope = service.coordinator_scope(user)
        pager = Page(number=page_no, size=20)
        rows, total = await repo.runs(db, scope, offset=pager.offset, limit=pager.size)
        counties = await repo.counties_in(db, scope)
        names = {c.code: c.name for c in await repo.counties_in(db, None)}
        return page(
            request,
            "matches/runs.html",
            fragment="matches/_runs.html",
            runs=rows,
            pager=pager.with_total(total),
            counties=counties,
            names=names,
        )

    @post("/runs")
    async def start_run(
        self, request: Request[Any, Any, Any], db: DB, data: Form
    ) -> Template | Redirect:
        """Queue a run; first ask when it would replace proposals nobody has reviewed yet."""
        user = require_user(request)
        county_code = data.get("county_code", "")
        county = await repo.county(db, county_code)
        if county is None or not service.covers_need(user, county.path):
            raise NotFound(N_("County not found."))
        pending = await repo.unreviewed_proposals(db, county_code)
        if pending and data.get("confirm") != "yes":
            return page(
                request,
                "matches/run_confirm.html",
                county=county,
                pending=pending,
            )
        run = await service.request_run(db, user, county_code)
        return Redirect(f"/coordination/runs/{run.id}", status_code=303)

    @get("/runs/{run_id:uuid}", name="coordination_run")
    async def run(
        self, request: Request[Any, Any, Any], db: DB, run_id: FromPath[uuid.UUID]
    ) -> Template:
        user = require_user(request)
        run = await service.visible_run(db, user, run_id)
        county = (await repo.region_names(db, [run.county_code])).get(run.county_code)
        return page(
            request,
            "matches/run.html",
            fragment="matches/_run.html",
            run=run,
            county_name=county.name if county else run.county_code,
            active=run.state in (RunState.QUEUED, RunState.RUNNING),
        )

    @get("/fairness", name="coordination_fairness")
    async def fairness(self, request: Request[Any, Any, Any], db: DB) -> Template:
        report = await fairness.report(db, require_user(request))
        return page(
            request,
            "matches/fairness.html",
            report=report,
            categories=await resources_service.categories(db),
            public_count=fairness.public_count,
            help_labels=fairness.HELP_BUCKETS,
            wait_labels=fairness.WAIT_LABELS,
        )


ORG_TABS = (MatchState.APPROVED, MatchState.ACCEPTED, MatchState.DECLINED, MatchState.EXPIRED)


class OrganizationMatchViews(Controller):
    path = "/organizations/matches"
    include_in_schema = False
    guards = [org_member_required]  # noqa: RUF012 - Litestar API

    @get("/", name="organization_matches")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        tab: Annotated[str, QueryParameter(name="state")] = "approved",
        done: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        user = require_user(request)
        wanted = MatchState(tab) if tab in {s.value for s in ORG_TABS} else MatchState.APPROVED
        pager = Page(number=page_no, size=20)
        rows, total = await repo.organization_queue(
            db, user.approved_org_ids(), states=[wanted], offset=pager.offset, limit=pager.size
        )
        return page(
            request,
            "matches/org.html",
            fragment="matches/_org.html",
            rows=rows,
            pager=pager.with_total(total),
            state=wanted,
            tabs=ORG_TABS,
            explain=explain_lines,
            regions=await _region_labels(db, rows),
            done=done,
            **await _labels(db, [r.need for r in rows]),
        )

    @post("/{match_id:uuid}/accept")
    async def accept(
        self, request: Request[Any, Any, Any], db: DB, match_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await service.accept(db, require_user(request), match_id)
        return Redirect("/organizations/matches?state=accepted&done=accepted", status_code=303)

    @post("/{match_id:uuid}/decline")
    async def decline(
        self, request: Request[Any, Any, Any], db: DB, match_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        await service.decline(db, require_user(request), match_id, data.get("reason", ""))
        return Redirect("/organizations/matches?done=declined", status_code=303)
