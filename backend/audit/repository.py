"""Queries of the audit domain outside the chain itself: the auditor's viewer and reports.

Every viewer query pages newest first by ``(occurred_at, id)`` (keyset, never OFFSET) and
filters on indexed columns (``ix_audit_log_*_time``, migration auditor_0001); time bounds prune
the month partitions. Nothing here reads a household table: the auditor sees actions, objects
by type and reference, regions and staff names, never a household's personal field.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Row,
    String,
    and_,
    any_,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.accounts.models import Role, RoleGrant, User, UserStatus
from backend.audit.models import AuditEntry, AuditLink
from backend.donations.models import Disbursement, DisbursementState
from backend.projects.models import Project
from backend.regions.models import Region
from backend.regions.repository import in_subtrees


async def platform_admins_and_auditors(session: AsyncSession) -> Sequence[uuid.UUID]:
    """Active users holding the admin or the auditor role (who hear of a broken chain)."""
    return (
        await session.scalars(
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role.in_([Role.ADMIN, Role.AUDITOR]), User.status == UserStatus.ACTIVE)
            .distinct()
        )
    ).all()


@dataclass(frozen=True)
class LogFilter:
    """The viewer's filters; ``None`` means "any". ``actor_ids`` empty: no user matched."""

    actor_ids: tuple[uuid.UUID, ...] | None = None
    actor_kind: str | None = None  # user | system | household | client
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    region_codes: tuple[str, ...] | None = None  # a region and everything below it
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    seq: int | None = None


def _conditions(f: LogFilter) -> list[ColumnElement[bool]]:
    e = AuditEntry
    out: list[ColumnElement[bool]] = []
    if f.actor_ids is not None:
        out.append(e.actor_id.in_(f.actor_ids) if f.actor_ids else false())
    if f.actor_kind:
        out.append(or_(e.actor_kind == f.actor_kind, e.actor_kind.startswith(f.actor_kind + ":")))
    if f.action:
        out.append(e.action == f.action)
    if f.object_type:
        out.append(e.object_type == f.object_type)
    if f.object_id:
        out.append(e.object_id == f.object_id)
    if f.region_codes is not None:
        # A literal array (not a subquery): the planner sees how many codes and picks the
        # region index for a small area, the time index for a large one.
        out.append(e.region_code == any_(literal(list(f.region_codes), ARRAY(String))))
    if f.since is not None:
        out.append(e.occurred_at >= f.since)
    if f.until is not None:
        out.append(e.occurred_at < f.until)
    if f.seq is not None:
        out.append(AuditLink.seq == f.seq)
    return out


def _log_query(f: LogFilter) -> Any:
    e = AuditEntry
    return (
        select(
            e.id,
            e.occurred_at,
            e.actor_id,
            e.actor_kind,
            e.action,
            e.object_type,
            e.object_id,
            e.region_code,
            e.detail,
            AuditLink.seq,
            User.display_name.label("actor_name"),
            Region.name.label("region_name"),
            Region.name_en.label("region_name_en"),
        )
        .outerjoin(AuditLink, AuditLink.entry_id == e.id)
        .outerjoin(User, and_(User.id == e.actor_id, e.actor_kind.startswith("user")))
        .outerjoin(Region, Region.code == e.region_code)
        .where(*_conditions(f))
        .order_by(e.occurred_at.desc(), e.id.desc())
    )


async def log_page(
    session: AsyncSession,
    f: LogFilter,
    *,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> Sequence[Row[Any]]:
    """One page of entries, newest first, strictly older than the cursor ``before``."""
    query = _log_query(f)
    if before is not None:
        query = query.where(tuple_(AuditEntry.occurred_at, AuditEntry.id) < tuple_(*before))
    return (await session.execute(query.limit(limit))).all()


async def roles_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[Role]]:
    """The roles each of these users holds (their region scopes left out)."""
    out: dict[uuid.UUID, set[Role]] = {}
    if not user_ids:
        return out
    rows = await session.execute(
        select(RoleGrant.user_id, RoleGrant.role).where(RoleGrant.user_id.in_(set(user_ids)))
    )
    for user_id, role in rows:
        out.setdefault(user_id, set()).add(Role(role))
    return out


async def users_matching(session: AsyncSession, who: str) -> tuple[uuid.UUID, ...]:
    """Users whose e-mail (any case) or display name is exactly ``who``."""
    rows = await session.scalars(
        select(User.id)
        .where(or_(func.lower(User.email) == who.lower(), User.display_name == who))
        .limit(50)
    )
    return tuple(rows.all())


async def subtree_codes(session: AsyncSession, root_path: str) -> tuple[str, ...]:
    """The codes of a region and of every region below it."""
    rows = await session.scalars(select(Region.code).where(in_subtrees(Region.code, [root_path])))
    return tuple(rows.all())


async def link_hash(session: AsyncSession, seq: int) -> str | None:
    return await session.scalar(select(AuditLink.hash).where(AuditLink.seq == seq))


async def last_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(AuditLink.seq))) or 0)


# ------------------------------------------------------------------------------- reports


async def access_counts(
    session: AsyncSession, actions: Sequence[str], *, since: datetime, until: datetime
) -> Sequence[Row[Any]]:
    """Personal-data reads per user, month (Asia/Shanghai) and action: entries and households."""
    e = AuditEntry
    month = func.date_trunc("month", func.timezone("Asia/Shanghai", e.occurred_at)).label("month")
    return (
        await session.execute(
            select(
                month,
                e.actor_id,
                User.display_name,
                e.action,
                func.count().label("entries"),
                func.count(e.object_id.distinct()).label("objects"),
            )
            .outerjoin(User, User.id == e.actor_id)
            .where(e.action.in_(actions), e.occurred_at >= since, e.occurred_at < until)
            .group_by(month, e.actor_id, User.display_name, e.action)
            .order_by(month.desc(), User.display_name, e.actor_id)
        )
    ).all()


async def entries_with_actions(
    session: AsyncSession,
    actions: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    limit: int,
) -> Sequence[Row[Any]]:
    """The newest entries of these actions in the range (the overrides report)."""
    f = LogFilter(since=since, until=until)
    query = _log_query(f).where(AuditEntry.action.in_(actions))
    return (await session.execute(query.limit(limit))).all()


async def decided_disbursements(
    session: AsyncSession, *, since: datetime, until: datetime, limit: int
) -> Sequence[Any]:
    """Decided disbursements in the range with their project, requester and approver."""
    requester = aliased(User)
    approver = aliased(User)
    return (
        await session.execute(
            select(
                Disbursement.id,
                Disbursement.updated_at.label("decided_at"),
                Disbursement.amount_fen,
                Disbursement.state,
                Disbursement.purpose,
                Project.title.label("project_title"),
                Project.region_code,
                requester.display_name.label("requested_by"),
                approver.display_name.label("decided_by"),
            )
            .join(Project, Project.id == Disbursement.project_id)
            .join(requester, requester.id == Disbursement.requested_by)
            .outerjoin(approver, approver.id == Disbursement.approved_by)
            .where(
                Disbursement.state.in_([DisbursementState.APPROVED, DisbursementState.REJECTED]),
                Disbursement.updated_at >= since,
                Disbursement.updated_at < until,
            )
            .order_by(Disbursement.updated_at.desc(), Disbursement.id.desc())
            .limit(limit)
        )
    ).all()
