"""Projects JSON API under /api/v1 (public fields only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from backend.accounts.models import Organization
from backend.core.bounds import OptionalQueryCode, QueryPage
from backend.core.errors import NotFound
from backend.core.http import DB
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.organizations.scope import is_member
from backend.projects import repository as repo
from backend.projects import service
from backend.projects.models import Project, ProjectState
from backend.resources.schemas import NeedSummary
from backend.resources.service import need_summary


class LinkedNeedOut(msgspec.Struct):
    need: NeedSummary
    plan: str
    before_photos: list[str]
    after_photos: list[str]


class ProjectOut(msgspec.Struct):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    title: str
    goal: str
    category: str
    region_code: str
    target_fen: int
    raised_fen: int
    state: str
    starts_on: date | None
    ends_on: date | None
    last_update_at: datetime | None
    update_overdue: bool
    can_donate: bool
    needs: list[LinkedNeedOut] = msgspec.field(default_factory=list)


class ProjectPage(msgspec.Struct):
    items: list[ProjectOut]
    page: int
    pages: int
    total: int


def project_out(project: Project, org: Organization) -> ProjectOut:
    return ProjectOut(
        project.id,
        org.id,
        org.name,
        project.title,
        project.goal,
        project.category,
        project.region_code,
        project.target_fen,
        project.raised_fen,
        project.state.value,
        project.starts_on,
        project.ends_on,
        project.last_update_at,
        project.update_overdue,
        service.can_donate(project),
    )


class ProjectsAPI(Controller):
    tags = ["projects"]  # noqa: RUF012 - Litestar API

    @get("/projects", summary="Public projects")
    async def list_projects(
        self,
        db: DB,
        state_: Annotated[ProjectState | None, QueryParameter(name="state")] = None,
        category: OptionalQueryCode = None,
        page: QueryPage = 1,
    ) -> ProjectPage:
        pager = Page(number=page)
        rows, total = await repo.public_projects(
            db,
            state=state_.value if state_ else None,
            category=category,
            offset=pager.offset,
            limit=pager.size,
        )
        pager = pager.with_total(total)
        return ProjectPage([project_out(p, o) for p, o in rows], pager.number, pager.pages, total)

    @get("/projects/{project_id:uuid}", summary="One project with its anonymized linked needs")
    async def get_project(
        self, request: Request[Any, Any, Any], db: DB, project_id: FromPath[uuid.UUID]
    ) -> ProjectOut:
        found = await repo.project_with_org(db, project_id)
        if found is None or (
            found[0].state not in repo.PUBLIC_STATES and not is_member(request.user, found[1].id)
        ):
            raise NotFound(N_("Project not found."))
        out = project_out(*found)
        out.needs = [
            LinkedNeedOut(
                need_summary(n), link.plan, list(link.before_photos), list(link.after_photos)
            )
            for link, n in await repo.linked_needs(db, found[0].id)
        ]
        return out
