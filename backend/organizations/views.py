"""Directory, public profiles, CSR ranking; the member portal, profile editing, invitations."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.models import Organization, OrgStatus, OrgType
from backend.core.db import utcnow
from backend.core.errors import DomainError, RateLimited
from backend.core.http import DB, Form, form_error
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.ratelimit import RateLimit
from backend.core.runtime import runtime_of
from backend.core.security import login_required, org_member_required, require_user
from backend.core.templating import page
from backend.grievance import service as grievance
from backend.grievance.models import SubjectType
from backend.organizations import repository as repo
from backend.organizations import service
from backend.organizations.scope import require_member, require_org_admin
from backend.projects import service as projects_service
from backend.projects.storage import photo_storage
from backend.regions.models import RegionLevel
from backend.regions.service import by_level
from backend.resources import service as resources_service
from backend.resources.models import ClaimState
from backend.volunteering import service as tasks_service

PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


async def _approved(db: DB, org_id: uuid.UUID) -> Organization:
    return await service.public_organization(db, org_id)


class DirectoryViews(Controller):
    include_in_schema = False

    @get("/organizations", name="directory")
    async def directory(  # noqa: PLR0917 - Litestar passes query parameters by name
        self,
        request: Request[Any, Any, Any],
        db: DB,
        type_: Annotated[str | None, QueryParameter(name="type")] = None,
        region: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        pager = Page(number=page_no, size=20)
        paths = []
        if region:
            path = await resources_service.region_path(db, region)
            paths = [path] if path else []
        rows, total = await repo.directory(
            db,
            org_type=type_ or None,
            region_paths=paths,
            q=q or None,
            offset=pager.offset,
            limit=pager.size,
        )
        figs = await repo.figures(db, [o.id for o in rows])
        return page(
            request,
            "organizations/directory.html",
            fragment="organizations/_directory.html",
            orgs=rows,
            figures=figs,
            pager=pager.with_total(total),
            org_types=list(OrgType),
            type=type_ or "",
            region=region or "",
            q=q or "",
            regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
            region_names=await resources_service.region_names(db, [o.region_code for o in rows]),
        )

    @get("/organizations/ranking", name="csr_ranking")
    async def ranking(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        type_: Annotated[str | None, QueryParameter(name="type")] = "company",
    ) -> Template:
        wanted = type_ if type_ in {t.value for t in OrgType} else None
        rows = await service.csr_ranking(db, org_type=wanted)
        return page(
            request,
            "organizations/ranking.html",
            rows=rows,
            type=wanted or "",
            org_types=list(OrgType),
        )

    @get("/organizations/{org_id:uuid}", name="org_profile")
    async def profile(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        org = await _approved(db, org_id)
        figs = (await repo.figures(db, [org.id]))[org.id]
        resources, _ = await resources_service.public_resources(db, organization_id=org.id, limit=6)
        projects = await projects_service.public_projects_of(db, org.id, limit=6)
        tasks = await tasks_service.open_tasks_of(db, org.id, limit=6)
        return page(
            request,
            "organizations/profile.html",
            org=org,
            figures=figs,
            held=await grievance.held(db, SubjectType.ORGANIZATION, org.id),
            resources=[r for r, _ in resources],
            projects=projects,
            tasks=tasks,
            region_names=await resources_service.region_names(
                db, [org.region_code, *org.service_area]
            ),
        )


class PortalViews(Controller):
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/org", guards=[org_member_required])
    async def portal(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        user = require_user(request)
        orgs = user.approved_org_ids()
        if len(orgs) == 1:
            return Redirect(f"/org/{orgs[0]}", status_code=303)
        return page(
            request,
            "organizations/choose.html",
            memberships=[m for m in user.memberships if m.status == OrgStatus.APPROVED],
        )

    @get("/org/{org_id:uuid}")
    async def dashboard(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        user = require_user(request)
        role = require_member(user, org_id)
        org = await _approved(db, org_id)
        return page(
            request,
            "organizations/dashboard.html",
            org=org,
            role=role.value,
            resources=await resources_service.org_resources(db, org_id),
            claims=await resources_service.org_claims(db, org_id, states=[ClaimState.ACTIVE]),
            projects=await projects_service.projects_of(db, org_id),
            tasks=await tasks_service.tasks_of(db, org_id),
            pending_hours=await tasks_service.pending_hours_count(db, org_id),
            fulfilments=await repo.open_fulfilments(db, org_id),
            figures=(await repo.figures(db, [org_id]))[org_id],
        )

    @get("/org/{org_id:uuid}/profile")
    async def profile_form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        require_org_admin(require_user(request), org_id)
        org = await _approved(db, org_id)
        form = {
            "name": org.name,
            "name_en": org.name_en,
            "description": org.description,
            "contact_email": org.contact_email,
            "service_area": list(org.service_area),
        }
        return page(
            request,
            "organizations/profile_form.html",
            org=org,
            form=form,
            saved=saved,
            regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
        )

    @post("/org/{org_id:uuid}/profile")
    async def save_profile(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        require_org_admin(user, org_id)
        form = await request.form()
        data = {k: form.get(k) for k in form if k != "logo"}
        area = [str(v) for v in form.getall("service_area")] if "service_area" in form else []
        try:
            logo = form.get("logo")
            logo_path = None
            if isinstance(logo, UploadFile) and logo.filename:
                logo_path = photo_storage(runtime_of(request.app.state).services).save(
                    await logo.read()
                )
            await service.update_profile(
                db,
                user,
                org_id,
                name=str(data.get("name") or ""),
                name_en=str(data.get("name_en") or ""),
                description=str(data.get("description") or ""),
                service_area=area,
                contact_email=str(data.get("contact_email") or ""),
                logo_path=logo_path,
            )
        except DomainError as exc:
            return form_error(
                request,
                "organizations/profile_form.html",
                exc,
                org=await _approved(db, org_id),
                form={**data, "service_area": area},
                saved=None,
                regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
            )
        return Redirect(f"/org/{org_id}/profile?saved=1", status_code=303)

    async def _members_context(self, db: DB, org_id: uuid.UUID) -> dict[str, Any]:
        return {
            "org": await _approved(db, org_id),
            "members": await repo.members(db, org_id),
            "invitations": await repo.open_invitations(db, org_id, utcnow()),
        }

    @get("/org/{org_id:uuid}/members")
    async def members(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        require_org_admin(require_user(request), org_id)
        return page(
            request,
            "organizations/members.html",
            form={"kind": "link"},
            created=None,
            **await self._members_context(db, org_id),
        )

    @post("/org/{org_id:uuid}/invitations")
    async def invite(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID], data: Form
    ) -> Template:
        user = require_user(request)
        try:
            created = await service.invite(
                db,
                user,
                org_id,
                kind=data.get("kind", ""),
                email=data.get("email", ""),
                role=data.get("role", "member"),
            )
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            return form_error(
                request,
                "organizations/members.html",
                exc,
                form=data,
                created=None,
                **await self._members_context(db, org_id),
            )
        base = str(request.base_url).rstrip("/")
        link = f"{base}/join?token={created.secret}" if created.kind == "link" else None
        return page(
            request,
            "organizations/members.html",
            status_code=201,
            form={"kind": "link"},
            created=created,
            link=link,
            **await self._members_context(db, org_id),
        )

    @get("/join")
    async def join_form(
        self, request: Request[Any, Any, Any], token: FromQuery[str | None] = None
    ) -> Template:
        return page(request, "organizations/join.html", form={"token": token or ""})

    @post("/join")
    async def join(
        self, request: Request[Any, Any, Any], state: State, db: DB, data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        # One-time codes are short: at most 10 tries per account per 10 minutes.
        wait = await RateLimit(runtime_of(state).queue.pool, "join", limit=10, window=600).hit(
            str(user.id)
        )
        if wait:
            raise RateLimited(N_("Too many attempts. Please wait and try again."), retry_after=wait)
        secret = data.get("token") or data.get("code", "")
        try:
            org = await service.accept_invitation(db, user, secret)
        except DomainError as exc:
            return form_error(
                request, "organizations/join.html", exc, form={"token": data.get("token", "")}
            )
        return Redirect(f"/org/{org.id}", status_code=303)
