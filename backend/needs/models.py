"""Needs: what a household lacks, published anonymized. Never shows the household."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class NeedState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RESERVED = "reserved"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


NEED_TRANSITIONS: dict[NeedState, frozenset[NeedState]] = {
    NeedState.DRAFT: frozenset({NeedState.PUBLISHED, NeedState.WITHDRAWN}),
    NeedState.PUBLISHED: frozenset(
        {NeedState.RESERVED, NeedState.WITHDRAWN, NeedState.EXPIRED, NeedState.DRAFT}
    ),
    NeedState.RESERVED: frozenset(
        {NeedState.IN_PROGRESS, NeedState.PUBLISHED, NeedState.WITHDRAWN, NeedState.DELIVERED}
    ),
    NeedState.IN_PROGRESS: frozenset(
        {NeedState.DELIVERED, NeedState.PUBLISHED, NeedState.WITHDRAWN}
    ),
    NeedState.DELIVERED: frozenset({NeedState.CONFIRMED, NeedState.IN_PROGRESS}),
    NeedState.CONFIRMED: frozenset({NeedState.CLOSED}),
    NeedState.CLOSED: frozenset(),
    NeedState.WITHDRAWN: frozenset({NeedState.DRAFT}),
    NeedState.EXPIRED: frozenset({NeedState.DRAFT}),
}


class Urgency(enum.StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    NORMAL = "normal"


class NeedCategory(Base):
    """The need taxonomy, kept as data (goods, meals, education, … micro-wish, cash)."""

    __tablename__ = "need_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    measure: Mapped[str] = mapped_column(String(16), default="quantity")  # quantity | amount
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


URGENCY_RANK = {"emergency": 1, "high": 2, "normal": 3}  # as the stored urgency_rank
PUBLIC_WHERE = (
    "state IN ('published', 'reserved', 'in_progress', 'delivered', 'confirmed', 'closed')"
    " AND hidden_reason IS NULL AND public_region_code IS NOT NULL"
)


class Need(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "needs"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    category: Mapped[str] = mapped_column(ForeignKey("need_categories.code"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16), default="")
    #: Item kind (code of matching/data/items.csv or a county extension) and how it was set
    #: (backend.items.models.KindSource: given, inferred, unsure, confirmed).
    item_kind: Mapped[str | None] = mapped_column(String(64))
    item_kind_source: Mapped[str] = mapped_column(
        String(16), default="inferred", server_default="inferred"
    )
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    pledged: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    delivered: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency), default=Urgency.NORMAL)
    # the public list's first sort key (emergency first), stored so that an index can serve it
    urgency_rank: Mapped[int] = mapped_column(
        SmallInteger,
        Computed(
            "CASE urgency WHEN 'emergency' THEN 1 WHEN 'high' THEN 2 ELSE 3 END", persisted=True
        ),
    )
    deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[NeedState] = mapped_column(
        str_enum(NeedState), default=NeedState.DRAFT, index=True
    )
    hidden_reason: Mapped[str | None] = mapped_column(String(32))
    # why the last try to publish this draft was refused ("scanner", "k_anonymity"), kept for the
    # caseworker's start page; cleared by an edit or a successful publication
    publish_blocked: Mapped[str | None] = mapped_column(String(16))
    public_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    public_profile: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    published_at: Mapped[datetime | None]
    helper_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API
    __table_args__ = (
        CheckConstraint("quantity IS NULL OR quantity > 0", name="quantity_positive"),
        CheckConstraint("amount_fen IS NULL OR amount_fen > 0", name="amount_positive"),
        CheckConstraint("pledged >= 0 AND delivered >= 0", name="progress_non_negative"),
        Index("ix_needs_state_deadline", "state", "deadline"),
    )


# The public list in its order (backend.needs.repository.public_needs): page 1 reads 20 index
# entries whatever the number of needs; the included columns answer the region and state filters
# on the index entry, and make the list's capped count an index-only scan.
Index(
    "ix_needs_public_order",
    Need.urgency_rank,
    Need.published_at.desc().nulls_last(),
    Need.id,
    postgresql_where=text(PUBLIC_WHERE),
    postgresql_include=["public_region_code", "state"],
)
# The same order within one category (the list's most used filter).
Index(
    "ix_needs_public_category_order",
    Need.category,
    Need.urgency_rank,
    Need.published_at.desc().nulls_last(),
    Need.id,
    postgresql_where=text(PUBLIC_WHERE),
    postgresql_include=["public_region_code", "state"],
)
# The caseworker start page's "drafts whose publication was refused", by region: only the few
# blocked drafts are indexed.
Index(
    "ix_needs_publish_blocked_region",
    Need.region_code,
    postgresql_where=text("publish_blocked IS NOT NULL"),
)
# Published emergencies by region, in waiting order (the fairness page's "emergencies without a
# match", backend.matches.repository.unmatched_emergencies): a city's few hundred, not its needs.
Index(
    "ix_needs_published_emergencies",
    Need.region_code,
    Need.published_at,
    postgresql_where=text("state = 'published' AND urgency = 'emergency'"),
)
# Published needs by region and deadline: an organization's claimable needs in its service area
# (backend.resources.repository.claimable_needs) and the caseworker start page's needs near
# their deadline (unclaimed_due) probe it for the area's region codes and read the area's
# published needs only, not every need the area ever had.
Index(
    "ix_needs_published_region",
    Need.region_code,
    Need.deadline,
    postgresql_where=text("state = 'published'"),
)
