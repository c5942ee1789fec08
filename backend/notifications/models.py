"""Outgoing messages (e-mail, SMS), per-user channel preferences, and deadline marks.

In-app notifications keep their table in ``backend.outbox.models.Notification``.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class Channel(enum.StrEnum):
    INAPP = "inapp"
    EMAIL = "email"
    SMS = "sms"


class MessageState(enum.StrEnum):
    PENDING = "pending"  # waiting for the sender job
    DIGEST = "digest"  # waiting for the daily digest of its user
    SENT = "sent"
    DIGESTED = "digested"  # went out inside a digest message
    FAILED = "failed"


class Message(UUIDPrimaryKey, Timestamps, Base):
    """One e-mail or SMS to one recipient, written by an outbox handler (exactly once:
    unique on event, recipient and channel). ``transport`` says how it left: ``smtp``,
    ``aliyun``, or ``dev`` (kept in the development mailbox, nothing sent)."""

    __tablename__ = "notification_messages"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    recipient: Mapped[str] = mapped_column(String(64))  # user id, or "addr:<sha256>" for invitees
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[MessageState] = mapped_column(
        str_enum(MessageState), default=MessageState.PENDING
    )
    transport: Mapped[str] = mapped_column(String(16), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel"),
        Index(
            "ix_notification_messages_open",
            "state",
            postgresql_where="state IN ('pending', 'digest')",
        ),
    )


class Preference(Base):
    """A user's choice for one event group and channel; no row means the group's default."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Contact(Timestamps, Base):
    """Where SMS go: the user's own mobile number (entered by the user on the settings page)."""

    __tablename__ = "notification_contacts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sms_phone: Mapped[str] = mapped_column(String(20), default="")


class DeadlineMark(UUIDPrimaryKey, Base):
    """A deadline event fired once: (kind, subject) is unique, so a cron run twice emits once."""

    __tablename__ = "deadline_marks"

    kind: Mapped[str] = mapped_column(String(48))
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("kind", "subject_id"),)
