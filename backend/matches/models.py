"""Matches proposed by the engine, a direct claim or a coordinator; and matching runs."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PGUUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class MatchState(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DECLINED = "declined"
    EXPIRED = "expired"


MATCH_TRANSITIONS: dict[MatchState, frozenset[MatchState]] = {
    MatchState.PROPOSED: frozenset({MatchState.APPROVED, MatchState.REJECTED, MatchState.EXPIRED}),
    MatchState.APPROVED: frozenset({MatchState.ACCEPTED, MatchState.DECLINED, MatchState.EXPIRED}),
    MatchState.ACCEPTED: frozenset(),
    MatchState.REJECTED: frozenset(),
    MatchState.DECLINED: frozenset(),
    MatchState.EXPIRED: frozenset(),
}


class MatchSource(enum.StrEnum):
    ENGINE = "engine"
    CLAIM = "claim"
    COORDINATOR = "coordinator"


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class MatchingRun(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "matching_runs"

    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[RunState] = mapped_column(str_enum(RunState), default=RunState.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    stats: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


class Match(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "matches"

    need_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("needs.id"), index=True)
    resource_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resources.id"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("projects.id"))
    volunteer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id"), index=True
    )
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("matching_runs.id"))
    source: Mapped[MatchSource] = mapped_column(str_enum(MatchSource))
    state: Mapped[MatchState] = mapped_column(str_enum(MatchState), default=MatchState.PROPOSED)
    #: In the need's unit (fen for money). ``offer_quantity``: the same in the offer's unit when
    #: the two differ (rice asked in kg, offered in 斤); ``None`` when they are the same.
    quantity: Mapped[int] = mapped_column(BigInteger, default=1)
    offer_quantity: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    score_parts: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict)
    explanation: Mapped[list[object]] = mapped_column(JSONB, default=list)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API


class CountyWeights(Base):
    """Per-county overrides of the matching weights (defaults in matching/)."""

    __tablename__ = "county_weights"

    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    weights: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(200), default="")


# Fairness figures, maintained by the outbox handlers (backend/matches/figures.py): the page
# reads a few hundred rows per city instead of aggregating every household, need and match.


class FairnessCell(Base):
    """How many households or needs of a county fall on one day of one metric.

    ``households`` (day 1970-01-01): active households; ``latest_help`` / ``second_help``: the
    local day of an active household's most recent / second most recent accepted match;
    ``published``: the local publication day of a published need. Summing ``latest_help`` from a
    day on gives the households helped at least once since then; ``second_help``, twice.
    """

    __tablename__ = "fairness_cells"

    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class FairnessHousehold(Base):
    """What an active household counts in the cells now (its row is absent when it counts
    nothing); the handler diffs the household's new contribution against it."""

    __tablename__ = "fairness_households"

    household_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    county_code: Mapped[str | None] = mapped_column(String(12))
    latest_help: Mapped[date | None] = mapped_column(Date)
    second_help: Mapped[date | None] = mapped_column(Date)


class FairnessNeed(Base):
    """What a published need counts in the cells now (absent when it counts nothing)."""

    __tablename__ = "fairness_needs"

    need_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    county_code: Mapped[str | None] = mapped_column(String(12))
    published_day: Mapped[date | None] = mapped_column(Date)


class QueueNeed(Base):
    """One need of the coordinator match queue, maintained in every transaction that changes
    its proposals (``backend/matches/queue.py``): the page reads a page of these rows in index
    order instead of grouping every open proposal of the city per request.

    ``proposals`` counts the need's proposed matches (0: not in the queue; the row stays so
    that concurrent changes lock it), ``best_score`` is their best score and
    ``organization_ids`` their organizations. ``region_path``, ``category`` and
    ``urgency_rank`` are copied from the need (refreshed by the ``need.*`` handler).
    """

    __tablename__ = "match_queue"

    need_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    region_path: Mapped[str] = mapped_column(String(80), default="", server_default="")
    category: Mapped[str] = mapped_column(String(32), default="", server_default="")
    urgency_rank: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    best_score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    proposals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    organization_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(PGUUID(as_uuid=True)), default=list, server_default="{}"
    )


# The queue page reads a page of rows in this order (and counts them, capped).
Index(
    "ix_match_queue_order",
    QueueNeed.urgency_rank,
    QueueNeed.best_score.desc(),
    QueueNeed.need_id,
    postgresql_where=text("proposals > 0"),
)
# A county coordinator's queue: rows by region path prefix.
Index(
    "ix_match_queue_path",
    QueueNeed.region_path,
    postgresql_ops={"region_path": "text_pattern_ops"},
    postgresql_where=text("proposals > 0"),
)
# Units held by open matches of an offer (the queue's alternatives, a run's offers).
Index(
    "ix_matches_open_resource",
    Match.resource_id,
    postgresql_where=text("state IN ('proposed', 'approved')"),
)
# An organization's inbox: its matches in one state, most recently changed first.
Index(
    "ix_matches_org_inbox",
    Match.organization_id,
    Match.state,
    Match.updated_at.desc(),
    Match.id,
)
