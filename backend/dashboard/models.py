"""The dashboard's figures, maintained by the outbox handlers (``backend/dashboard/figures.py``).

``dashboard_cells`` holds counts per (county, metric, time bucket, key); ``dashboard_needs`` and
``dashboard_households`` remember what each need and household counts in now, so that a handler
adds only the difference (and a replayed event adds nothing). Definitions: docs/dashboard.md.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PGUUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base


class DashboardCell(Base):
    """How many needs, claims, deliveries, proposals or households of a county fall in one
    bucket of one metric.

    ``at`` is the start of the bucket: a local (Asia/Shanghai) week for the weekly flow, a local
    day for the figures over 12 months, a local month for the days to confirmation, an hour for
    the live queues, 1970-01-01 for the count of active households. ``key`` is the category,
    organization, township, urgency or day bucket the metric is split by ('' when none).
    """

    __tablename__ = "dashboard_cells"

    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DashboardNeed(Base):
    """What a need counts in the cells now: ``cells`` is a list of [metric, at, key, n]
    (the row is absent when it counts nothing)."""

    __tablename__ = "dashboard_needs"

    need_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    county_code: Mapped[str | None] = mapped_column(String(12))
    cells: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")


class DashboardHousehold(Base):
    """What an active household counts in now: its county and the local days of its two most
    recent confirmed deliveries."""

    __tablename__ = "dashboard_households"

    household_id: Mapped[uuid.UUID] = mapped_column(PGUUID(as_uuid=True), primary_key=True)
    county_code: Mapped[str | None] = mapped_column(String(12))
    latest_help: Mapped[date | None] = mapped_column(Date)
    second_help: Mapped[date | None] = mapped_column(Date)
