"""Volunteer tasks and slots, sign-up and cancel, attendance, self-logged hours and review,
verified hours, and service-record certificates (志愿服务记录证明).

A slot's ``taken`` moves only through a conditional UPDATE (``taken < capacity``), so two
volunteers racing for the last place cannot both get it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Organization, OrgStatus, Role, User
from backend.audit.service import Actor, record
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import N_
from backend.core.repository import get_by_id
from backend.households import service as households
from backend.organizations.scope import approved_organization, require_member
from backend.outbox.service import emit, record_change
from backend.resources import service as resources_service
from backend.volunteering import repository as repo
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

# Read queries other domains may call (their only way into this domain's repository).
from backend.volunteering.repository import (
    open_tasks_of as open_tasks_of,
)
from backend.volunteering.repository import (
    pending_hours_count as pending_hours_count,
)
from backend.volunteering.repository import (
    tasks_of as tasks_of,
)

TASK_CATEGORIES = (
    "visit",
    "micro_wish",
    "tutoring",
    "delivery",
    "repair",
    "companionship",
    "other",
)
MAX_MINUTES = 1440
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _actor(user: CurrentUser) -> Actor:
    return Actor(kind="user", id=user.id)


@dataclass(frozen=True)
class SlotIn:
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int | None


def _check_slot(slot: SlotIn) -> tuple[datetime, datetime, int]:
    errors: dict[str, str] = {}
    if slot.starts_at is None:
        errors["starts_at"] = "required"
    if slot.ends_at is None:
        errors["ends_at"] = "required"
    if slot.starts_at and slot.ends_at and slot.ends_at <= slot.starts_at:
        errors["ends_at"] = "before_start"
    if slot.capacity is None:
        errors["capacity"] = "required"
    elif not 1 <= slot.capacity <= 500:
        errors["capacity"] = "out_of_range"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    assert slot.starts_at
    assert slot.ends_at
    assert slot.capacity
    return slot.starts_at, slot.ends_at, slot.capacity


async def create_task(
    session: AsyncSession,
    actor: CurrentUser,
    org_id: uuid.UUID,
    *,
    title: str,
    category: str,
    region_code: str,
    place: str,
    slot: SlotIn,
    description: str = "",
) -> VolunteerTask:
    await approved_organization(
        session,
        actor,
        org_id,
        refusal=N_("Your organization must be approved before it can post tasks."),
    )
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "required"
    if category not in TASK_CATEGORIES:
        errors["category"] = "invalid"
    if not region_code or not await resources_service.known_regions(session, [region_code]):
        errors["region_code"] = "invalid"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    await households.check_organization_text(
        session,
        org_id,
        {"title": title.strip(), "description": description.strip(), "place": place.strip()},
    )
    starts_at, ends_at, capacity = _check_slot(slot)
    task = VolunteerTask(
        id=uuid.uuid4(),
        organization_id=org_id,
        title=title.strip()[:120],
        description=description.strip(),
        category=category,
        region_code=region_code,
        place=place.strip()[:120],
        state=TaskState.OPEN,
        created_by=actor.id,
    )
    session.add(task)
    await session.flush()
    session.add(
        TaskSlot(
            id=uuid.uuid4(),
            task_id=task.id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
        )
    )
    await session.flush()
    await record_change(
        session,
        actor=_actor(actor),
        action="task.created",
        object_type="task",
        object_id=task.id,
        region_code=region_code,
        payload={"organization_id": str(org_id), "category": category},
    )
    return task


async def _task_for_member(
    session: AsyncSession, actor: CurrentUser, task_id: uuid.UUID
) -> VolunteerTask:
    task = await get_by_id(session, VolunteerTask, task_id, for_update=True)
    if task is None:
        raise NotFound(N_("Task not found."))
    require_member(actor, task.organization_id)
    return task


async def add_slot(
    session: AsyncSession, actor: CurrentUser, task_id: uuid.UUID, slot: SlotIn
) -> TaskSlot:
    task = await _task_for_member(session, actor, task_id)
    if task.state != TaskState.OPEN:
        raise Conflict(N_("This task is closed."))
    starts_at, ends_at, capacity = _check_slot(slot)
    new = TaskSlot(
        id=uuid.uuid4(), task_id=task.id, starts_at=starts_at, ends_at=ends_at, capacity=capacity
    )
    session.add(new)
    await session.flush()
    await record(
        session,
        actor=_actor(actor),
        action="task.slot_added",
        object_type="task",
        object_id=task.id,
        detail={"slot_id": str(new.id), "capacity": capacity},
    )
    await emit(
        session,
        topic="task.updated",
        aggregate_type="task",
        aggregate_id=task.id,
        payload={"slot_id": str(new.id)},
    )
    return new


async def close_task(
    session: AsyncSession, actor: CurrentUser, task_id: uuid.UUID
) -> VolunteerTask:
    task = await _task_for_member(session, actor, task_id)
    if task.state != TaskState.OPEN:
        raise Conflict(N_("This task is closed."))
    task.state = TaskState.CLOSED
    await record_change(
        session,
        actor=_actor(actor),
        action="task.closed",
        object_type="task",
        object_id=task.id,
        payload={"state": TaskState.CLOSED.value},
    )
    await session.flush()
    return task


async def sign_up(session: AsyncSession, actor: CurrentUser, slot_id: uuid.UUID) -> Signup:
    if not (actor.has_role(Role.VOLUNTEER) or actor.is_admin):
        raise Forbidden(N_("Sign up as a volunteer to take part in tasks."))
    found = await repo.slot_with_task(session, slot_id)
    if found is None:
        raise NotFound(N_("Task not found."))
    slot, task = found
    if task.state != TaskState.OPEN:
        raise Conflict(N_("This task is closed."))
    if slot.starts_at <= utcnow():
        raise Conflict(N_("This time slot has started already."))
    signup = await repo.signup_for_update(session, slot_id, actor.id)
    if signup is not None and signup.state == SignupState.SIGNED_UP:
        raise Conflict(N_("You are signed up for this time slot already."))
    if await repo.take_place(session, slot_id) is None:
        raise Conflict(N_("This time slot is full. Choose another one."), code="slot_full")
    if signup is None:
        signup = Signup(
            id=uuid.uuid4(), slot_id=slot_id, volunteer_id=actor.id, state=SignupState.SIGNED_UP
        )
        session.add(signup)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(N_("You are signed up for this time slot already.")) from exc
    else:
        signup.state = SignupState.SIGNED_UP
    await record(
        session,
        actor=_actor(actor),
        action="task.signed_up",
        object_type="task",
        object_id=task.id,
        detail={"slot_id": str(slot_id), "signup_id": str(signup.id)},
    )
    await emit(
        session,
        topic="task.signup",
        aggregate_type="task",
        aggregate_id=task.id,
        payload={"slot_id": str(slot_id)},
    )
    await session.flush()
    return signup


async def cancel_signup(session: AsyncSession, actor: CurrentUser, slot_id: uuid.UUID) -> Signup:
    found = await repo.slot_with_task(session, slot_id)
    signup = await repo.signup_for_update(session, slot_id, actor.id)
    if found is None or signup is None or signup.state != SignupState.SIGNED_UP:
        raise NotFound(N_("You are not signed up for this time slot."))
    slot, task = found
    if slot.starts_at <= utcnow():
        raise Conflict(N_("This time slot has started already; tell the organization instead."))
    signup.state = SignupState.CANCELLED
    await repo.free_place(session, slot_id)
    await record_change(
        session,
        actor=_actor(actor),
        action="task.signup_cancelled",
        object_type="task",
        object_id=task.id,
        detail={"slot_id": str(slot_id), "signup_id": str(signup.id)},
        payload={"slot_id": str(slot_id)},
    )
    await session.flush()
    return signup


async def record_attendance(
    session: AsyncSession,
    actor: CurrentUser,
    signup_id: uuid.UUID,
    *,
    attended: bool,
    minutes: int | None,
) -> Signup:
    """The organization records who came and for how long; attended hours count as verified."""
    signup = await repo.signup_by_id(session, signup_id)
    if signup is None:
        raise NotFound(N_("Sign-up not found."))
    found = await repo.slot_with_task(session, signup.slot_id)
    assert found is not None
    slot, task = found
    require_member(actor, task.organization_id)
    if signup.state not in {SignupState.SIGNED_UP, SignupState.NO_SHOW, SignupState.ATTENDED}:
        raise Conflict(N_("This sign-up was cancelled."))
    if signup.state == SignupState.ATTENDED:
        raise Conflict(N_("Attendance is recorded already."))
    if attended:
        if minutes is None or not 1 <= minutes <= MAX_MINUTES:
            raise Invalid(
                N_("Enter the minutes served (1 to 1440)."), fields={"minutes": "invalid"}
            )
        signup.state = SignupState.ATTENDED
        session.add(
            HoursLog(
                id=uuid.uuid4(),
                volunteer_id=signup.volunteer_id,
                organization_id=task.organization_id,
                task_id=task.id,
                signup_id=signup.id,
                served_on=slot.starts_at,
                minutes=minutes,
                note="",
                state=HoursState.APPROVED,
                reviewed_by=actor.id,
                reviewed_at=utcnow(),
            )
        )
    else:
        signup.state = SignupState.NO_SHOW
    await session.flush()
    await record(
        session,
        actor=_actor(actor),
        action="task.attendance",
        object_type="task",
        object_id=task.id,
        detail={"signup_id": str(signup.id), "state": signup.state.value, "minutes": minutes or 0},
    )
    await emit(
        session,
        topic="hours.recorded",
        aggregate_type="task",
        aggregate_id=task.id,
        payload={"signup_id": str(signup.id), "state": signup.state.value},
    )
    return signup


async def log_hours(
    session: AsyncSession,
    actor: CurrentUser,
    *,
    organization_id: uuid.UUID | None,
    served_on: datetime | None,
    minutes: int | None,
    note: str,
) -> HoursLog:
    if not (actor.has_role(Role.VOLUNTEER) or actor.is_admin):
        raise Forbidden(N_("Sign up as a volunteer to log service hours."))
    errors: dict[str, str] = {}
    org = await get_by_id(session, Organization, organization_id) if organization_id else None
    if org is None or org.status != OrgStatus.APPROVED:
        errors["organization_id"] = "invalid"
    if served_on is None:
        errors["served_on"] = "required"
    elif served_on > utcnow():
        errors["served_on"] = "future"
    elif served_on < utcnow() - timedelta(days=366):
        errors["served_on"] = "too_old"
    if minutes is None:
        errors["minutes"] = "required"
    elif not 1 <= minutes <= MAX_MINUTES:
        errors["minutes"] = "out_of_range"
    if not note.strip():
        errors["note"] = "required"
    if errors:
        raise Invalid(N_("Please correct the marked fields."), fields=errors)
    assert org is not None
    assert served_on is not None
    assert minutes is not None
    log = HoursLog(
        id=uuid.uuid4(),
        volunteer_id=actor.id,
        organization_id=org.id,
        served_on=served_on,
        minutes=minutes,
        note=note.strip()[:2000],
        state=HoursState.PENDING,
    )
    session.add(log)
    await session.flush()
    await record_change(
        session,
        actor=_actor(actor),
        action="hours.logged",
        object_type="hours",
        object_id=log.id,
        detail={"organization_id": str(org.id), "minutes": minutes},
        payload={"organization_id": str(org.id)},
    )
    return log


async def review_hours(
    session: AsyncSession, actor: CurrentUser, hours_id: uuid.UUID, *, approve: bool
) -> HoursLog:
    log = await repo.hours_for_update(session, hours_id)
    if log is None:
        raise NotFound(N_("Hours not found."))
    require_member(actor, log.organization_id)
    if log.volunteer_id == actor.id:
        raise Forbidden(N_("You cannot review your own hours."))
    if log.state != HoursState.PENDING:
        raise Conflict(N_("These hours were reviewed already."))
    log.state = HoursState.APPROVED if approve else HoursState.REJECTED
    log.reviewed_by = actor.id
    log.reviewed_at = utcnow()
    await record_change(
        session,
        actor=_actor(actor),
        action=f"hours.{log.state.value}",
        object_type="hours",
        object_id=log.id,
        detail={"organization_id": str(log.organization_id), "minutes": log.minutes},
        payload={"organization_id": str(log.organization_id)},
    )
    await session.flush()
    return log


async def issue_certificate(session: AsyncSession, actor: CurrentUser) -> Certificate:
    """A snapshot of the volunteer's verified hours with a code anyone can check."""
    total = await repo.verified_minutes(session, actor.id)
    if total <= 0:
        raise Conflict(N_("You have no verified service hours yet."))
    cert = Certificate(
        id=uuid.uuid4(),
        volunteer_id=actor.id,
        total_minutes=total,
        issued_at=utcnow(),
        check_code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(16)),
    )
    session.add(cert)
    await session.flush()
    await record_change(
        session,
        actor=_actor(actor),
        action="certificate.issued",
        object_type="certificate",
        object_id=cert.id,
        detail={"total_minutes": total},
    )
    return cert


def masked_name(name: str) -> str:
    """The public check page shows the surname only: 刘志愿 → 刘**."""
    name = name.strip()
    return (name[0] + "*" * min(3, max(1, len(name) - 1))) if name else ""


async def own_certificate(
    session: AsyncSession, user: CurrentUser, cert_id: uuid.UUID
) -> tuple[Certificate, str]:
    """The volunteer's own certificate and the name printed on it; 404 for anyone else's."""
    cert = await get_by_id(session, Certificate, cert_id)
    if cert is None or cert.volunteer_id != user.id:
        raise NotFound(N_("Certificate not found."))
    account = await get_by_id(session, User, user.id)
    assert account is not None
    return cert, account.display_name
