"""Reports (grievances): anyone's complaint about a need, project, organization, resource,
task or delivery, tracked by a public code and answered within working-day deadlines."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class ReportType(enum.StrEnum):
    FRAUD = "fraud"  # suspected fraud or misuse of funds
    PERSONAL_DATA = "personal_data"  # personal data exposed
    DELIVERY = "delivery"  # delivery not received or not as described
    MISCONDUCT = "misconduct"  # confidential: reporter identity visible to the platform admin only
    WRONG_INFO = "wrong_info"
    OTHER = "other"


class ReportStage(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class SubjectType(enum.StrEnum):
    NEED = "need"
    PROJECT = "project"
    ORGANIZATION = "organization"
    RESOURCE = "resource"
    TASK = "task"
    DELIVERY = "delivery"
    NONE = "none"


class Route(enum.StrEnum):
    """Who handles it: the county's coordinators, the household's caseworkers, the platform admin."""

    COORDINATORS = "coordinators"
    CASEWORKERS = "caseworkers"
    ADMIN = "admin"


STAGE_MOVES: dict[ReportStage, frozenset[ReportStage]] = {
    ReportStage.RECEIVED: frozenset(
        {ReportStage.ACKNOWLEDGED, ReportStage.INVESTIGATING, ReportStage.DISMISSED}
    ),
    ReportStage.ACKNOWLEDGED: frozenset(
        {ReportStage.INVESTIGATING, ReportStage.RESOLVED, ReportStage.DISMISSED}
    ),
    ReportStage.INVESTIGATING: frozenset({ReportStage.RESOLVED, ReportStage.DISMISSED}),
    ReportStage.RESOLVED: frozenset(),
    ReportStage.DISMISSED: frozenset(),
}
CLOSED_STAGES = frozenset({ReportStage.RESOLVED, ReportStage.DISMISSED})


class Report(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "reports"

    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    type: Mapped[ReportType] = mapped_column(str_enum(ReportType, "report_type"))
    subject_type: Mapped[SubjectType] = mapped_column(str_enum(SubjectType, "report_subject"))
    subject_id: Mapped[uuid.UUID | None]
    subject_title: Mapped[str] = mapped_column(String(200), default="")
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    route: Mapped[Route] = mapped_column(str_enum(Route, "report_route"))
    # The text may name people: it is encrypted, and shown beyond the handlers only after the
    # public-text scanner passes it (``text_clean``).
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    text_clean: Mapped[bool] = mapped_column(default=False, server_default="false")
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    reporter_household_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("households.id"), index=True
    )
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    stage: Mapped[ReportStage] = mapped_column(
        str_enum(ReportStage, "report_stage"), default=ReportStage.RECEIVED
    )
    ack_due_at: Mapped[datetime]
    answer_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="", server_default="")
    escalation: Mapped[str] = mapped_column(
        String(16), default="", server_default=""
    )  # "", ack, answer
    held: Mapped[bool] = mapped_column(
        default=False, server_default="false"
    )  # reported text hidden pending review
    donations_paused: Mapped[bool] = mapped_column(default=False, server_default="false")

    __table_args__ = (
        Index("ix_reports_stage_answer_due", "stage", "answer_due_at"),
        Index("ix_reports_subject", "subject_type", "subject_id"),
        Index("ix_reports_created_at", "created_at"),
    )


class ReportMove(UUIDPrimaryKey, Base):
    """One stage move with its reason (the ticket's history)."""

    __tablename__ = "report_moves"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
