"""Every query of projects, their linked needs and updates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import any_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization
from backend.needs.models import Need, NeedState
from backend.projects.models import Project, ProjectNeed, ProjectState, ProjectUpdate
from backend.regions.repository import in_subtrees

PUBLIC_STATES = (
    ProjectState.FUNDRAISING,
    ProjectState.FUNDED,
    ProjectState.EXECUTING,
    ProjectState.COMPLETED,
    ProjectState.CLOSED,
)


async def project_for_update(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    return (
        await session.scalars(select(Project).where(Project.id == project_id).with_for_update())
    ).first()


async def public_projects(
    session: AsyncSession,
    *,
    state: str | None = None,
    category: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[Sequence[tuple[Project, Organization]], int]:
    query = (
        select(Project, Organization)
        .join(Organization, Organization.id == Project.organization_id)
        .where(Project.state.in_(PUBLIC_STATES))
    )
    if state and state in {s.value for s in PUBLIC_STATES}:
        query = query.where(Project.state == state)
    if category:
        query = query.where(Project.category == category)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(Project.created_at.desc()).offset(offset).limit(limit)
    )
    return [(p, o) for p, o in rows.all()], total


async def public_projects_of(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int = 20
) -> Sequence[Project]:
    return (
        await session.scalars(
            select(Project)
            .where(Project.organization_id == org_id, Project.state.in_(PUBLIC_STATES))
            .order_by(Project.created_at.desc())
            .limit(limit)
        )
    ).all()


async def projects_of(session: AsyncSession, org_id: uuid.UUID) -> Sequence[Project]:
    return (
        await session.scalars(
            select(Project)
            .where(Project.organization_id == org_id)
            .order_by(Project.created_at.desc())
        )
    ).all()


async def project_with_org(
    session: AsyncSession, project_id: uuid.UUID
) -> tuple[Project, Organization] | None:
    row = (
        await session.execute(
            select(Project, Organization)
            .join(Organization, Organization.id == Project.organization_id)
            .where(Project.id == project_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def linked_needs(
    session: AsyncSession, project_id: uuid.UUID
) -> Sequence[tuple[ProjectNeed, Need]]:
    rows = await session.execute(
        select(ProjectNeed, Need)
        .join(Need, Need.id == ProjectNeed.need_id)
        .where(ProjectNeed.project_id == project_id)
        .order_by(ProjectNeed.created_at)
    )
    return [(pn, n) for pn, n in rows.all()]


async def link_for_update(session: AsyncSession, link_id: uuid.UUID) -> ProjectNeed | None:
    return (
        await session.scalars(
            select(ProjectNeed).where(ProjectNeed.id == link_id).with_for_update()
        )
    ).first()


async def link_of_need(session: AsyncSession, need_id: uuid.UUID) -> ProjectNeed | None:
    return (
        await session.scalars(select(ProjectNeed).where(ProjectNeed.need_id == need_id))
    ).first()


async def updates(
    session: AsyncSession, project_id: uuid.UUID, *, limit: int = 50
) -> Sequence[ProjectUpdate]:
    return (
        await session.scalars(
            select(ProjectUpdate)
            .where(ProjectUpdate.project_id == project_id, ProjectUpdate.withdrawn_at.is_(None))
            .order_by(ProjectUpdate.created_at.desc())
            .limit(limit)
        )
    ).all()


async def update_for_change(session: AsyncSession, update_id: uuid.UUID) -> ProjectUpdate | None:
    return (
        await session.scalars(
            select(ProjectUpdate).where(ProjectUpdate.id == update_id).with_for_update()
        )
    ).first()


async def overdue_candidates(session: AsyncSession, cutoff: datetime) -> Sequence[Project]:
    """Executing projects whose last update is older than ``cutoff`` and not yet flagged."""
    return (
        await session.scalars(
            select(Project)
            .where(
                Project.state == ProjectState.EXECUTING,
                Project.update_overdue.is_(False),
                or_(Project.last_update_at.is_(None), Project.last_update_at < cutoff),
            )
            .with_for_update(skip_locked=True)
        )
    ).all()


async def photo_is_public(session: AsyncSession, name: str) -> bool:
    """A stored photo is served only when a public project, its evidence or a logo uses it."""
    public = Project.state.in_(PUBLIC_STATES)
    in_update = (
        select(ProjectUpdate.id)
        .join(Project, Project.id == ProjectUpdate.project_id)
        .where(
            public,
            ProjectUpdate.withdrawn_at.is_(None),
            literal(name) == any_(ProjectUpdate.photos),
        )
    )
    in_link = (
        select(ProjectNeed.id)
        .join(Project, Project.id == ProjectNeed.project_id)
        .where(
            public,
            or_(
                literal(name) == any_(ProjectNeed.before_photos),
                literal(name) == any_(ProjectNeed.after_photos),
            ),
        )
    )
    in_logo = select(Organization.id).where(Organization.logo_path == name)
    for query in (in_update, in_link, in_logo):
        if (await session.scalars(query.limit(1))).first() is not None:
            return True
    return False


async def linkable_needs(
    session: AsyncSession,
    *,
    region_path: str,
    states: Sequence[NeedState],
    q: str = "",
    limit: int = 20,
) -> Sequence[Need]:
    """Needs a project in ``region_path`` may take on: in one of ``states``, not hidden, in the
    project's region subtree, not linked to any project yet; titles containing ``q`` first by
    urgency then newest. The picker of the project page (a need is never typed as an id)."""
    query = (
        select(Need)
        .where(
            Need.state.in_(states),
            Need.hidden_reason.is_(None),
            in_subtrees(Need.region_code, [region_path]),
            ~select(ProjectNeed.id).where(ProjectNeed.need_id == Need.id).exists(),
        )
        .order_by(Need.urgency_rank, Need.published_at.desc().nulls_last(), Need.id)
        .limit(limit)
    )
    if q.strip():
        query = query.where(Need.title.icontains(q.strip(), autoescape=True))
    return (await session.scalars(query)).all()
