"""Outbox events (same transaction as the change) and external events (webhooks)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class OutboxEvent(UUIDPrimaryKey, Base):
    """``payload`` holds ids and public values only; jobs reload what they need."""

    __tablename__ = "outbox"

    topic: Mapped[str] = mapped_column(String(64))
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    state: Mapped[OutboxState] = mapped_column(str_enum(OutboxState), default=OutboxState.PENDING)
    created_at: Mapped[datetime] = mapped_column(primary_key=True)
    enqueued_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="")

    # Partitioned by month of created_at (backend/core/partitions.py): retention drops whole
    # months. The table's primary key must hold the partition key; the identity is ``id``.
    __table_args__ = (
        Index("ix_outbox_pending", "created_at", postgresql_where="state = 'pending'"),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )
    __mapper_args__ = {"primary_key": ["id"]}  # noqa: RUF012 - SQLAlchemy API


class ExternalEvent(UUIDPrimaryKey, Timestamps, Base):
    """Webhook events stored first under a unique (source, external_id); a job applies them."""

    __tablename__ = "external_events"

    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    handled_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Notification(UUIDPrimaryKey, Timestamps, Base):
    """In-app notification; ``event_id`` makes delivery from an outbox event exactly-once."""

    __tablename__ = "notifications"

    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    link: Mapped[str] = mapped_column(String(300), default="")
    read_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("event_id", "user_id", "organization_id", "kind"),)
