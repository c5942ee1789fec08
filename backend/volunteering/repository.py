"""Every query of volunteer tasks, slots, sign-ups, hours and certificates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Organization, User
from backend.volunteering.models import (
    Certificate,
    HoursLog,
    HoursState,
    Signup,
    SignupState,
    TaskSlot,
    TaskState,
    VolunteerTask,
)


async def open_tasks(
    session: AsyncSession, *, category: str | None = None, offset: int = 0, limit: int = 20
) -> tuple[Sequence[tuple[VolunteerTask, Organization]], int]:
    query = (
        select(VolunteerTask, Organization).join(Organization, Organization.id == VolunteerTask.organization_id)
        .where(VolunteerTask.state == TaskState.OPEN)
    )
    if category:
        query = query.where(VolunteerTask.category == category)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(query.order_by(VolunteerTask.created_at.desc()).offset(offset).limit(limit))
    return [(t, o) for t, o in rows.all()], total


async def open_tasks_of(session: AsyncSession, org_id: uuid.UUID, *, limit: int = 20) -> Sequence[VolunteerTask]:
    return (
        await session.scalars(
            select(VolunteerTask).where(VolunteerTask.organization_id == org_id, VolunteerTask.state == TaskState.OPEN)
            .order_by(VolunteerTask.created_at.desc()).limit(limit)
        )
    ).all()


async def tasks_of(session: AsyncSession, org_id: uuid.UUID) -> Sequence[VolunteerTask]:
    return (
        await session.scalars(
            select(VolunteerTask).where(VolunteerTask.organization_id == org_id)
            .order_by(VolunteerTask.created_at.desc()).limit(50)
        )
    ).all()


async def task_with_org(session: AsyncSession, task_id: uuid.UUID) -> tuple[VolunteerTask, Organization] | None:
    row = (
        await session.execute(
            select(VolunteerTask, Organization).join(Organization, Organization.id == VolunteerTask.organization_id)
            .where(VolunteerTask.id == task_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def slots(session: AsyncSession, task_id: uuid.UUID) -> Sequence[TaskSlot]:
    return (await session.scalars(select(TaskSlot).where(TaskSlot.task_id == task_id).order_by(TaskSlot.starts_at))).all()


async def slot_with_task(session: AsyncSession, slot_id: uuid.UUID) -> tuple[TaskSlot, VolunteerTask] | None:
    row = (
        await session.execute(
            select(TaskSlot, VolunteerTask).join(VolunteerTask, VolunteerTask.id == TaskSlot.task_id)
            .where(TaskSlot.id == slot_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def take_place(session: AsyncSession, slot_id: uuid.UUID) -> int | None:
    """Conditional UPDATE: one more volunteer if a place is left; the new count or None."""
    result = await session.execute(
        update(TaskSlot).where(TaskSlot.id == slot_id, TaskSlot.taken < TaskSlot.capacity)
        .values(taken=TaskSlot.taken + 1).returning(TaskSlot.taken)
    )
    return result.scalar_one_or_none()


async def free_place(session: AsyncSession, slot_id: uuid.UUID) -> None:
    await session.execute(
        update(TaskSlot).where(TaskSlot.id == slot_id, TaskSlot.taken > 0).values(taken=TaskSlot.taken - 1)
    )


async def signup_for_update(session: AsyncSession, slot_id: uuid.UUID, volunteer_id: uuid.UUID) -> Signup | None:
    return (
        await session.scalars(
            select(Signup).where(Signup.slot_id == slot_id, Signup.volunteer_id == volunteer_id).with_for_update()
        )
    ).first()


async def signup_by_id(session: AsyncSession, signup_id: uuid.UUID) -> Signup | None:
    return (await session.scalars(select(Signup).where(Signup.id == signup_id).with_for_update())).first()


async def my_signups(session: AsyncSession, volunteer_id: uuid.UUID, slot_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Signup]:
    if not slot_ids:
        return {}
    rows = await session.scalars(
        select(Signup).where(Signup.volunteer_id == volunteer_id, Signup.slot_id.in_(slot_ids))
    )
    return {s.slot_id: s for s in rows}


async def roster(session: AsyncSession, task_id: uuid.UUID) -> Sequence[tuple[Signup, TaskSlot, User, HoursLog | None]]:
    rows = await session.execute(
        select(Signup, TaskSlot, User, HoursLog)
        .join(TaskSlot, TaskSlot.id == Signup.slot_id)
        .join(User, User.id == Signup.volunteer_id)
        .outerjoin(HoursLog, HoursLog.signup_id == Signup.id)
        .where(TaskSlot.task_id == task_id, Signup.state != SignupState.CANCELLED)
        .order_by(TaskSlot.starts_at, User.display_name)
    )
    return [(s, sl, u, h) for s, sl, u, h in rows.all()]


async def hours_for_update(session: AsyncSession, hours_id: uuid.UUID) -> HoursLog | None:
    return (await session.scalars(select(HoursLog).where(HoursLog.id == hours_id).with_for_update())).first()


async def pending_hours(session: AsyncSession, org_id: uuid.UUID) -> Sequence[tuple[HoursLog, User]]:
    rows = await session.execute(
        select(HoursLog, User).join(User, User.id == HoursLog.volunteer_id)
        .where(HoursLog.organization_id == org_id, HoursLog.state == HoursState.PENDING)
        .order_by(HoursLog.served_on)
    )
    return [(h, u) for h, u in rows.all()]


async def pending_hours_count(session: AsyncSession, org_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count()).select_from(HoursLog)
        .where(HoursLog.organization_id == org_id, HoursLog.state == HoursState.PENDING)
    ) or 0


async def hours_of(session: AsyncSession, volunteer_id: uuid.UUID) -> Sequence[tuple[HoursLog, Organization]]:
    rows = await session.execute(
        select(HoursLog, Organization).join(Organization, Organization.id == HoursLog.organization_id)
        .where(HoursLog.volunteer_id == volunteer_id).order_by(HoursLog.served_on.desc())
    )
    return [(h, o) for h, o in rows.all()]


async def verified_minutes(session: AsyncSession, volunteer_id: uuid.UUID) -> int:
    return int(await session.scalar(
        select(func.coalesce(func.sum(HoursLog.minutes), 0))
        .where(HoursLog.volunteer_id == volunteer_id, HoursLog.state == HoursState.APPROVED)
    ) or 0)


async def verified_by_org(session: AsyncSession, volunteer_id: uuid.UUID) -> Sequence[tuple[str, int]]:
    rows = await session.execute(
        select(Organization.name, func.sum(HoursLog.minutes))
        .join(Organization, Organization.id == HoursLog.organization_id)
        .where(HoursLog.volunteer_id == volunteer_id, HoursLog.state == HoursState.APPROVED)
        .group_by(Organization.name).order_by(Organization.name)
    )
    return [(name, int(minutes)) for name, minutes in rows.all()]


async def certificates_of(session: AsyncSession, volunteer_id: uuid.UUID) -> Sequence[Certificate]:
    return (
        await session.scalars(
            select(Certificate).where(Certificate.volunteer_id == volunteer_id).order_by(Certificate.issued_at.desc())
        )
    ).all()


async def certificate_by_code(session: AsyncSession, code: str) -> tuple[Certificate, User] | None:
    row = (
        await session.execute(
            select(Certificate, User).join(User, User.id == Certificate.volunteer_id).where(Certificate.check_code == code)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def volunteer_orgs(session: AsyncSession, volunteer_id: uuid.UUID) -> Sequence[Organization]:
    """Organizations the volunteer signed up with (to log hours for)."""
    return (
        await session.scalars(
            select(Organization).where(Organization.id.in_(
                select(VolunteerTask.organization_id).join(TaskSlot, TaskSlot.task_id == VolunteerTask.id)
                .join(Signup, Signup.slot_id == TaskSlot.id).where(Signup.volunteer_id == volunteer_id)
            )).order_by(Organization.name)
        )
    ).all()
