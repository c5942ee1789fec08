"""Queries of the grievance channel: reports, their moves, the subjects they are about.

The subject look-ups read the title, region and owning organization of another domain's row
(a need, project, organization, resource, task or delivery): public columns only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, Role, RoleGrant, User, UserStatus
from backend.fulfilment.models import Delivery, Fulfilment
from backend.grievance.models import (
    CLOSED_STAGES,
    Report,
    ReportMove,
    ReportStage,
    ReportType,
    Route,
    SubjectType,
)
from backend.needs.models import Need
from backend.projects.models import Project
from backend.regions.models import Region
from backend.resources.models import Resource
from backend.volunteering.models import VolunteerTask


@dataclass(frozen=True)
class Subject:
    type: SubjectType
    id: uuid.UUID | None
    title: str
    region_code: str | None
    organization_id: uuid.UUID | None = None
    need_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None


async def subject(
    session: AsyncSession, subject_type: SubjectType, subject_id: uuid.UUID
) -> Subject | None:
    """The reported object's public title, its region and its owner, or None when unknown."""
    if subject_type == SubjectType.NEED:
        need = await session.get(Need, subject_id)
        if need is None or need.published_at is None:
            return None
        return Subject(
            subject_type,
            need.id,
            need.title,
            need.region_code,
            need.helper_organization_id,
            need_id=need.id,
            household_id=need.household_id,
        )
    if subject_type == SubjectType.PROJECT:
        project = await session.get(Project, subject_id)
        if project is None:
            return None
        return Subject(
            subject_type, project.id, project.title, project.region_code, project.organization_id
        )
    if subject_type == SubjectType.ORGANIZATION:
        org = await session.get(Organization, subject_id)
        if org is None:
            return None
        return Subject(subject_type, org.id, org.name, org.region_code, org.id)
    if subject_type == SubjectType.RESOURCE:
        row = (
            await session.execute(
                select(Resource.title, Organization.region_code, Resource.organization_id)
                .join(Organization, Organization.id == Resource.organization_id)
                .where(Resource.id == subject_id)
            )
        ).first()
        if row is None:
            return None
        return Subject(subject_type, subject_id, row[0], row[1], row[2])
    if subject_type == SubjectType.TASK:
        task = await session.get(VolunteerTask, subject_id)
        if task is None:
            return None
        return Subject(subject_type, task.id, task.title, task.region_code, task.organization_id)
    if subject_type == SubjectType.DELIVERY:
        found = (
            await session.execute(
                select(
                    Need.title,
                    Need.region_code,
                    Fulfilment.organization_id,
                    Need.id,
                    Need.household_id,
                )
                .join(Fulfilment, Fulfilment.need_id == Need.id)
                .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
                .where(Delivery.id == subject_id)
            )
        ).first()
        if found is None:
            return None
        return Subject(
            subject_type,
            subject_id,
            found[0],
            found[1],
            found[2],
            need_id=found[3],
            household_id=found[4],
        )
    return None


async def region_path(session: AsyncSession, code: str | None) -> str | None:
    if code is None:
        return None
    return await session.scalar(select(Region.path).where(Region.code == code))


async def county_of(session: AsyncSession, code: str | None) -> Region | None:
    """The county (level 3) that contains the region ``code`` (or the region itself)."""
    path = await region_path(session, code)
    if path is None:
        return None
    parts = path.split(".")
    county_code = parts[2] if len(parts) >= 3 else parts[-1]
    return await session.get(Region, county_code)


async def handler_ids(
    session: AsyncSession, route: Route, region_code: str | None
) -> list[uuid.UUID]:
    """Active users who handle a report of this route and region (admins for ADMIN)."""
    if route == Route.ADMIN or region_code is None:
        query = select(RoleGrant.user_id).where(RoleGrant.role == Role.ADMIN)
    else:
        path = await region_path(session, region_code)
        if path is None:
            return []
        role = Role.COORDINATOR if route == Route.COORDINATORS else Role.CASEWORKER
        query = (
            select(RoleGrant.user_id)
            .join(Region, Region.code == RoleGrant.region_code)
            .where(
                RoleGrant.role == role,
                or_(Region.path == path, func.strpos(path, Region.path + ".") == 1),
            )
        )
    query = query.join(User, User.id == RoleGrant.user_id).where(User.status == UserStatus.ACTIVE)
    return sorted(set(await session.scalars(query)))


async def admin_ids(session: AsyncSession) -> list[uuid.UUID]:
    return await handler_ids(session, Route.ADMIN, None)


async def by_code(session: AsyncSession, code: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.tracking_code == code))


async def get(
    session: AsyncSession, report_id: uuid.UUID, *, for_update: bool = False
) -> Report | None:
    query = select(Report).where(Report.id == report_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def moves(session: AsyncSession, report_id: uuid.UUID) -> list[ReportMove]:
    return list(
        await session.scalars(
            select(ReportMove).where(ReportMove.report_id == report_id).order_by(ReportMove.at)
        )
    )


def _scope(
    query: Select[Report],
    *,
    is_admin: bool,
    coordinator_paths: tuple[str, ...],
    caseworker_paths: tuple[str, ...],
) -> Select[Report]:
    if is_admin:
        return query
    conditions = [
        and_(
            Report.route.in_(routes),
            or_(Region.path == root, Region.path.startswith(root + ".", autoescape=True)),
        )
        for paths, routes in (
            (coordinator_paths, (Route.COORDINATORS, Route.CASEWORKERS, Route.ADMIN)),
            (caseworker_paths, (Route.CASEWORKERS,)),
        )
        for root in paths
    ]
    if not conditions:
        return query.where(Report.id.is_(None))
    return query.join(Region, Region.code == Report.region_code).where(or_(*conditions))


async def listing(
    session: AsyncSession,
    *,
    is_admin: bool,
    coordinator_paths: tuple[str, ...],
    caseworker_paths: tuple[str, ...],
    stage: ReportStage | None,
    report_type: ReportType | None,
    open_only: bool,
    offset: int,
    limit: int,
) -> tuple[list[Report], int]:
    query = _scope(
        select(Report),
        is_admin=is_admin,
        coordinator_paths=coordinator_paths,
        caseworker_paths=caseworker_paths,
    )
    if stage is not None:
        query = query.where(Report.stage == stage)
    elif open_only:
        query = query.where(Report.stage.not_in(CLOSED_STAGES))
    if report_type is not None:
        query = query.where(Report.type == report_type)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Report.answer_due_at, Report.created_at).offset(offset).limit(limit)
    )
    return list(rows), int(total)


@dataclass(frozen=True)
class FigureCounts:
    by_type: dict[str, int]
    by_stage: dict[str, int]
    answered: int
    on_time: int
    median_days: float | None
    open_since: list[datetime]  # when each open report arrived (for working-day ages)


async def figure_counts(
    session: AsyncSession,
    *,
    is_admin: bool,
    coordinator_paths: tuple[str, ...],
    since: datetime,
) -> FigureCounts:
    """Counted in the database: the rows never come to Python, only the open reports' dates."""
    scoped = _scope(
        select(Report).where(Report.created_at >= since),
        is_admin=is_admin,
        coordinator_paths=coordinator_paths,
        caseworker_paths=(),
    ).subquery()
    by_type: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    for kind, stage, n in await session.execute(
        select(scoped.c.type, scoped.c.stage, func.count()).group_by(scoped.c.type, scoped.c.stage)
    ):
        by_type[str(kind)] = by_type.get(str(kind), 0) + int(n)
        by_stage[str(stage)] = by_stage.get(str(stage), 0) + int(n)
    closed = scoped.c.closed_at.is_not(None)
    answered, on_time, median_days = (
        await session.execute(
            select(
                func.count().filter(closed),
                func.count().filter(closed, scoped.c.closed_at <= scoped.c.answer_due_at),
                func.percentile_cont(0.5).within_group(
                    func.extract("epoch", scoped.c.closed_at - scoped.c.created_at) / 86400
                ),
            )
        )
    ).one()
    open_since = list(
        await session.scalars(select(scoped.c.created_at).where(scoped.c.closed_at.is_(None)))
    )
    return FigureCounts(
        by_type,
        by_stage,
        int(answered),
        int(on_time),
        None if median_days is None else float(median_days),
        open_since,
    )


async def monthly_public(
    session: AsyncSession, since: datetime
) -> list[tuple[str, str, int, int, int]]:
    """(month, type, reports, closed, closed within their answer deadline) since a date."""
    month = func.to_char(func.timezone("Asia/Shanghai", Report.created_at), "YYYY-MM")
    closed = func.count().filter(Report.closed_at.is_not(None))
    on_time = func.count().filter(
        Report.closed_at.is_not(None), Report.closed_at <= Report.answer_due_at
    )
    rows = await session.execute(
        select(month, Report.type, func.count(), closed, on_time)
        .where(Report.created_at >= since)
        .group_by(month, Report.type)
        .order_by(month.desc(), Report.type)
    )
    return [(r[0], r[1].value, int(r[2]), int(r[3]), int(r[4])) for r in rows]


async def overdue(session: AsyncSession, now: datetime, limit: int = 500) -> list[Report]:
    """Open reports past a deadline they have not yet been escalated for (locked, skip others)."""
    query = (
        select(Report)
        .where(
            Report.stage.not_in(CLOSED_STAGES),
            or_(
                and_(
                    Report.stage == ReportStage.RECEIVED,
                    Report.ack_due_at < now,
                    Report.escalation == "",
                ),
                and_(Report.answer_due_at < now, Report.escalation != "answer"),
            ),
        )
        .order_by(Report.answer_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def of_user(session: AsyncSession, user_id: uuid.UUID) -> list[Report]:
    return list(
        await session.scalars(
            select(Report)
            .where(Report.reporter_user_id == user_id)
            .order_by(Report.created_at.desc())
            .limit(100)
        )
    )


async def of_household(session: AsyncSession, household_id: uuid.UUID) -> list[Report]:
    return list(
        await session.scalars(
            select(Report)
            .where(Report.reporter_household_id == household_id)
            .order_by(Report.created_at.desc())
            .limit(50)
        )
    )


async def held(session: AsyncSession, subject_type: SubjectType, subject_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Report.id)
        .where(
            Report.subject_type == subject_type,
            Report.subject_id == subject_id,
            Report.held.is_(True),
        )
        .limit(1)
    )
    return found is not None


async def donations_paused(session: AsyncSession, project_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Report.id)
        .where(
            Report.subject_type == SubjectType.PROJECT,
            Report.subject_id == project_id,
            Report.donations_paused.is_(True),
        )
        .limit(1)
    )
    return found is not None


async def hide_need(session: AsyncSession, need_id: uuid.UUID, reason: str) -> bool:
    """Hide a published need (``hidden_reason``) unless it is hidden already."""
    result = await session.execute(
        update(Need)
        .where(Need.id == need_id, Need.hidden_reason.is_(None))
        .values(hidden_reason=reason, version=Need.version + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unhide_need(session: AsyncSession, need_id: uuid.UUID, reason: str) -> bool:
    result = await session.execute(
        update(Need)
        .where(Need.id == need_id, Need.hidden_reason == reason)
        .values(hidden_reason=None, version=Need.version + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def other_open_holds(
    session: AsyncSession, subject_type: SubjectType, subject_id: uuid.UUID, report_id: uuid.UUID
) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Report.subject_type == subject_type,
                Report.subject_id == subject_id,
                Report.held.is_(True),
                Report.id != report_id,
            )
        )
        or 0
    )
