"""Deliveries with evidence, household confirmation and feedback, visits, quarterly lists."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class FulfilmentState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DeliveryState(enum.StrEnum):
    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"  # the household reported "not received"


class ConfirmationMethod(enum.StrEnum):
    CODE_AND_PIN = "code_and_pin"  # at the door: the deliverer's phone, the household's PIN
    OWN_PHONE = "own_phone"  # the household on its own self-service page
    CASEWORKER = "caseworker"  # the caseworker on the household's behalf, with a reason


class CaseworkerReason(enum.StrEnum):
    """Why the caseworker confirmed instead of the household."""

    CANNOT_USE_PIN = "cannot_use_pin"  # cannot see, read or type a PIN
    NO_CARD = "no_card"  # card or PIN lost, a new one is on its way
    TOLD_IN_PERSON = "told_in_person"  # the household told the caseworker in person
    TOLD_BY_PHONE = "told_by_phone"  # the household told the caseworker by telephone
    OTHER = "other"


class Fulfilment(UUIDPrimaryKey, Timestamps, Base):
    """Opens for an active claim or an accepted match."""

    __tablename__ = "fulfilments"

    need_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("needs.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), unique=True)
    match_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("matches.id"), unique=True)
    state: Mapped[FulfilmentState] = mapped_column(
        str_enum(FulfilmentState), default=FulfilmentState.OPEN
    )
    promised: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("(claim_id IS NULL) <> (match_id IS NULL)", name="one_origin"),
    )


class Delivery(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "deliveries"

    fulfilment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fulfilments.id", ondelete="CASCADE"), index=True
    )
    delivered_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(BigInteger)
    volunteer_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notes: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list)
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState), default=DeliveryState.RECORDED
    )
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    confirmation_method: Mapped[ConfirmationMethod | None] = mapped_column(
        str_enum(ConfirmationMethod)
    )
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    confirmation_reason: Mapped[CaseworkerReason | None] = mapped_column(str_enum(CaseworkerReason))
    confirmation_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class Feedback(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "feedback"

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    via_caseworker: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)


class VisitSchedule(UUIDPrimaryKey, Timestamps, Base):
    """探访关爱: recurring visits (monthly for 特困, quarterly otherwise)."""

    __tablename__ = "visit_schedules"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), unique=True
    )
    interval_days: Mapped[int] = mapped_column(Integer)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    next_due: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date)


class Visit(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "visits"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    visited_on: Mapped[date] = mapped_column(Date)
    visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str] = mapped_column(Text, default="")


class QuarterlyList(UUIDPrimaryKey, Timestamps, Base):
    """幸福清单 handed over per household per quarter ("一户一单")."""

    __tablename__ = "quarterly_lists"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    quarter: Mapped[str] = mapped_column(String(7))  # e.g. 2026Q4
    file_path: Mapped[str | None] = mapped_column(String(300))
    generated_at: Mapped[datetime | None]
    handed_over_at: Mapped[datetime | None]
    handed_over_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("household_id", "quarter"),)
