"""Volunteer tasks with time slots, sign-ups, attendance and hours."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class TaskState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class SignupState(enum.StrEnum):
    SIGNED_UP = "signed_up"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class HoursState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class VolunteerTask(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "volunteer_tasks"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    place: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState), default=TaskState.OPEN)
    need_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("needs.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class TaskSlot(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "task_slots"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("volunteer_tasks.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_in_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )


class Signup(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "signups"

    slot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task_slots.id", ondelete="CASCADE"))
    volunteer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[SignupState] = mapped_column(str_enum(SignupState), default=SignupState.SIGNED_UP)

    __table_args__ = (UniqueConstraint("slot_id", "volunteer_id"),)


class HoursLog(UUIDPrimaryKey, Timestamps, Base):
    """Volunteer hours in minutes; only approved rows count as verified."""

    __tablename__ = "hours_logs"

    volunteer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("volunteer_tasks.id"))
    signup_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("signups.id"), unique=True)
    served_on: Mapped[datetime]
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[HoursState] = mapped_column(str_enum(HoursState), default=HoursState.PENDING)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_range"),)


class Certificate(UUIDPrimaryKey, Timestamps, Base):
    """志愿服务记录证明: a snapshot of verified hours that anyone can check by its id."""

    __tablename__ = "certificates"

    volunteer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    total_minutes: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime]
    check_code: Mapped[str] = mapped_column(String(32), unique=True)
