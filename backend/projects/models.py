"""Projects: an organization's funded effort (e.g. 暖巢更新), with updates and evidence."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class ProjectState(enum.StrEnum):
    DRAFT = "draft"
    FUNDRAISING = "fundraising"
    FUNDED = "funded"
    EXECUTING = "executing"
    COMPLETED = "completed"
    CLOSED = "closed"


PROJECT_TRANSITIONS: dict[ProjectState, frozenset[ProjectState]] = {
    ProjectState.DRAFT: frozenset({ProjectState.FUNDRAISING}),
    ProjectState.FUNDRAISING: frozenset({ProjectState.FUNDED, ProjectState.CLOSED}),
    ProjectState.FUNDED: frozenset({ProjectState.EXECUTING}),
    ProjectState.EXECUTING: frozenset({ProjectState.COMPLETED}),
    ProjectState.COMPLETED: frozenset({ProjectState.CLOSED}),
    ProjectState.CLOSED: frozenset(),
}


class Project(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "projects"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    goal: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(ForeignKey("need_categories.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    target_fen: Mapped[int] = mapped_column(BigInteger)
    raised_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[ProjectState] = mapped_column(str_enum(ProjectState), default=ProjectState.DRAFT)
    last_update_at: Mapped[datetime | None]
    update_overdue: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API
    __table_args__ = (
        CheckConstraint("target_fen > 0", name="target_positive"),
        CheckConstraint("raised_fen >= 0", name="raised_non_negative"),
    )


class ProjectNeed(UUIDPrimaryKey, Timestamps, Base):
    """A need the project will meet; one plan per household (暖巢更新 "一户一案")."""

    __tablename__ = "project_needs"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    need_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("needs.id"), unique=True)
    plan: Mapped[str] = mapped_column(Text, default="")
    before_photos: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list)
    after_photos: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list)


class ProjectUpdate(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "project_updates"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    photos: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list)
    edited_at: Mapped[datetime | None]  # the author corrected it
    withdrawn_at: Mapped[datetime | None]  # the author withdrew it: no longer public
