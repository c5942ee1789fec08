"""Resources: what an organization offers (goods, service, funds, volunteer time)."""

from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class ResourceKind(enum.StrEnum):
    GOODS = "goods"
    SERVICE = "service"
    FUNDS = "funds"
    VOLUNTEER_TIME = "volunteer_time"


class ResourceState(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Resource(UUIDPrimaryKey, Timestamps, Base):
    """``eligibility`` is data: {"categories": [...], "flags": [...], "max_per_household": N}."""

    __tablename__ = "resources"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind))
    category: Mapped[str] = mapped_column(ForeignKey("need_categories.code"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16), default="")
    #: Item kind and how it was set, as on needs (backend.items.models.KindSource).
    item_kind: Mapped[str | None] = mapped_column(String(64))
    item_kind_source: Mapped[str] = mapped_column(
        String(16), default="inferred", server_default="inferred"
    )
    capacity: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    service_area: Mapped[list[str]] = mapped_column(ARRAY(String(12)))
    eligibility: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    state: Mapped[ResourceState] = mapped_column(
        str_enum(ResourceState), default=ResourceState.ACTIVE
    )
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= capacity", name="remaining_in_capacity"),
    )


class ClaimState(enum.StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    FULFILLED = "fulfilled"


class Claim(UUIDPrimaryKey, Timestamps, Base):
    """需求认领: an organization takes on (part of) a published need."""

    __tablename__ = "claims"

    need_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("needs.id"), index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    resource_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resources.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[ClaimState] = mapped_column(str_enum(ClaimState), default=ClaimState.ACTIVE)
    claimed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    release_reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
