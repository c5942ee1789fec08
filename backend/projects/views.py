"""Project pages: public list and page (progress, updates, anonymized linked needs), the
organization's forms (new project, state, updates with photos, linked needs, evidence)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from backend.core.errors import DomainError, Invalid, NotFound
from backend.core.http import DB, Form, form_error
from backend.core.i18n import N_
from backend.core.money import yuan_to_fen
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.core.security import login_required, require_user
from backend.core.templating import page
from backend.donations import service as donations
from backend.donations.tasks import provider_of
from backend.grievance import service as grievance
from backend.grievance.models import SubjectType
from backend.organizations.scope import is_member, require_member
from backend.projects import repository as repo
from backend.projects import service
from backend.projects.models import PROJECT_TRANSITIONS, ProjectState
from backend.projects.storage import PhotoStorage, photo_storage
from backend.regions.models import RegionLevel
from backend.regions.service import by_level
from backend.resources import service as resources_service
from backend.resources.service import need_summary
from backend.resources.views import parse_date

PageNo = Annotated[int, QueryParameter(name="page", ge=1)]


async def uploaded_photos(request: Request[Any, Any, Any]) -> tuple[dict[str, str], list[bytes]]:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
    files = form.getall("photos") if "photos" in form else []
    photos = [await f.read() for f in files if isinstance(f, UploadFile) and f.filename]
    return fields, photos


def _photos(request: Request[Any, Any, Any]) -> PhotoStorage:
    return photo_storage(runtime_of(request.app.state).services)


class ProjectViews(Controller):
    include_in_schema = False

    @get("/projects", name="projects")
    async def list_projects(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        state_: Annotated[str | None, QueryParameter(name="state")] = None,
        category: FromQuery[str | None] = None,
        page_no: PageNo = 1,
    ) -> Template:
        pager = Page(number=page_no, size=12)
        rows, total = await repo.public_projects(
            db,
            state=state_ or None,
            category=category or None,
            offset=pager.offset,
            limit=pager.size,
        )
        return page(
            request,
            "projects/list.html",
            fragment="projects/_list.html",
            rows=rows,
            pager=pager.with_total(total),
            state=state_ or "",
            category=category or "",
            states=repo.PUBLIC_STATES,
            categories=await resources_service.categories(db),
            percent=service.percent,
            region_names=await resources_service.region_names(db, [p.region_code for p, _ in rows]),
        )

    async def _context(
        self, request: Request[Any, Any, Any], db: DB, project_id: uuid.UUID
    ) -> dict[str, Any]:
        found = await repo.project_with_org(db, project_id)
        if found is None:
            raise NotFound(N_("Project not found."))
        project, org = found
        member = is_member(request.user, org.id)
        if project.state not in repo.PUBLIC_STATES and not member:
            raise NotFound(N_("Project not found."))
        links = [
            (link, need_summary(need)) for link, need in await repo.linked_needs(db, project.id)
        ]
        # The need picker of members: the first linkable needs before anything is typed.
        candidates = (
            await service.need_candidates(db, require_user(request), project.id) if member else []
        )
        return {
            "project": project,
            "org": org,
            "member": member,
            "links": links,
            "updates": await repo.updates(db, project.id),
            "donation": await donations.donation_options(
                db, project, provider_of(runtime_of(request.app.state))
            ),
            "held": await grievance.held(db, SubjectType.PROJECT, project.id),
            "percent": service.percent(project),
            "next_states": sorted(s.value for s in PROJECT_TRANSITIONS[project.state]),
            "region_names": await resources_service.region_names(
                db,
                [
                    project.region_code,
                    *[s.region_code for _, s in links],
                    *[c.region_code for c in candidates],
                ],
            ),
            "candidates": candidates,
            "need_q": "",
            "picker_limit": service.CANDIDATES_FIRST,
            "form": {},
        }

    @get("/projects/{project_id:uuid}", name="project")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        return page(
            request,
            "projects/detail.html",
            saved=saved,
            **await self._context(request, db, project_id),
        )

    @get("/projects/{project_id:uuid}/needs/candidates", guards=[login_required])
    async def need_candidates(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: FromPath[uuid.UUID],
        q: Annotated[str, QueryParameter(max_length=100)] = "",
    ) -> Template:
        """The need picker's results: the fragment for htmx, the whole page without JavaScript."""
        context = await self._context(request, db, project_id)
        candidates = await service.need_candidates(db, require_user(request), project_id, q)
        context["region_names"] = await resources_service.region_names(
            db, [*context["region_names"].keys(), *[c.region_code for c in candidates]]
        )
        context.update(
            candidates=candidates,
            need_q=q,
            picker_limit=service.CANDIDATES_FOUND if q.strip() else service.CANDIDATES_FIRST,
        )
        return page(
            request,
            "projects/detail.html",
            fragment="projects/_need_candidates.html",
            saved=None,
            **context,
        )

    @get("/photos/{name:str}", name="photo")
    async def photo(
        self, request: Request[Any, Any, Any], db: DB, name: FromPath[str]
    ) -> Response[bytes]:
        stored = _photos(request).open(name)
        if stored is None or not await repo.photo_is_public(db, name):
            raise NotFound(N_("Photo not found."))
        data, media_type = stored
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    @get("/org/{org_id:uuid}/projects/new", guards=[login_required])
    async def new_form(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        require_member(require_user(request), org_id)
        return page(
            request,
            "projects/form.html",
            org_id=org_id,
            form={},
            categories=await resources_service.categories(db),
            regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
        )

    @post("/org/{org_id:uuid}/projects", guards=[login_required])
    async def create(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        require_member(user, org_id)
        try:
            project = await service.create_project(
                db,
                user,
                org_id,
                title=data.get("title", ""),
                goal=data.get("goal", ""),
                category=data.get("category", ""),
                region_code=data.get("region_code", ""),
                target_fen=yuan_to_fen(data.get("target", "")),
                starts_on=parse_date(data.get("starts_on")),
                ends_on=parse_date(data.get("ends_on")),
            )
        except DomainError as exc:
            return form_error(
                request,
                "projects/form.html",
                exc,
                org_id=org_id,
                form=data,
                categories=await resources_service.categories(db),
                regions=await by_level(db, RegionLevel.CITY, RegionLevel.COUNTY),
            )
        return Redirect(f"/projects/{project.id}?saved=created", status_code=303)

    @post("/projects/{project_id:uuid}/state", guards=[login_required])
    async def change_state(
        self, request: Request[Any, Any, Any], db: DB, project_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        target = data.get("target", "")
        user = require_user(request)
        if target not in {s.value for s in ProjectState}:
            found = await repo.project_with_org(db, project_id)
            if found is None or not is_member(user, found[1].id):
                raise NotFound(N_("Project not found."))
            raise Invalid(N_("Choose a state from the list."), fields={"target": "invalid"})
        await service.move(db, user, project_id, ProjectState(target))
        return Redirect(f"/projects/{project_id}?saved=state", status_code=303)

    async def _rerender(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: uuid.UUID,
        exc: DomainError,
        form: dict[str, str],
    ) -> Template:
        if exc.status_code == 404:
            raise exc
        context = await self._context(request, db, project_id)
        context["form"] = form
        return form_error(request, "projects/detail.html", exc, saved=None, **context)

    @post("/projects/{project_id:uuid}/updates", guards=[login_required])
    async def post_update(
        self, request: Request[Any, Any, Any], db: DB, project_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        fields, photos = await uploaded_photos(request)
        try:
            await service.post_update(
                db,
                require_user(request),
                _photos(request),
                project_id,
                body=fields.get("body", ""),
                photos=photos,
            )
        except DomainError as exc:
            return await self._rerender(request, db, project_id, exc, fields)
        return Redirect(f"/projects/{project_id}?saved=update", status_code=303)

    @post("/projects/{project_id:uuid}/updates/{update_id:uuid}", guards=[login_required])
    async def edit_update(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: FromPath[uuid.UUID],
        update_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        name = f"body-{update_id}"  # each update's edit form names its own field
        try:
            await service.edit_update(
                db, require_user(request), project_id, update_id, body=data.get(name, "")
            )
        except DomainError as exc:
            if isinstance(exc, Invalid) and "body" in exc.fields:
                exc.fields = {name: exc.fields["body"]}
            return await self._rerender(request, db, project_id, exc, {name: data.get(name, "")})
        return Redirect(f"/projects/{project_id}?saved=update_edited", status_code=303)

    @post("/projects/{project_id:uuid}/updates/{update_id:uuid}/withdraw", guards=[login_required])
    async def withdraw_update(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: FromPath[uuid.UUID],
        update_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await service.withdraw_update(db, require_user(request), project_id, update_id)
        return Redirect(f"/projects/{project_id}?saved=update_withdrawn", status_code=303)

    @post("/projects/{project_id:uuid}/needs", guards=[login_required])
    async def link_need(
        self, request: Request[Any, Any, Any], db: DB, project_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        raw = data.get("need_id", "").strip()
        try:
            need_id = uuid.UUID(raw)
        except ValueError:
            need_id = uuid.uuid4()  # unknown id: answered as "cannot be linked"
        try:
            if not raw:
                raise Invalid(N_("Choose the need to link."), fields={"need_id": "required"})
            await service.link_need(
                db, require_user(request), project_id, need_id, data.get("plan", "")
            )
        except DomainError as exc:
            return await self._rerender(request, db, project_id, exc, data)
        return Redirect(f"/projects/{project_id}?saved=linked", status_code=303)

    @post("/projects/{project_id:uuid}/needs/{link_id:uuid}/evidence", guards=[login_required])
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: FromPath[uuid.UUID],
        link_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        fields, photos = await uploaded_photos(request)
        try:
            link = await service.add_evidence(
                db,
                require_user(request),
                _photos(request),
                link_id,
                kind=fields.get("kind", ""),
                photos=photos,
            )
            if link.project_id != project_id:
                raise NotFound(N_("Project not found."))
        except DomainError as exc:
            return await self._rerender(request, db, project_id, exc, fields)
        return Redirect(f"/projects/{project_id}?saved=evidence", status_code=303)
