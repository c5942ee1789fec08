"""Append-only, HMAC-chained audit log: entries, and the chain that seals them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base


class AuditEntry(Base):
    """One audited act, written in the business transaction without any lock.

    ``detail`` names fields and ids, never personal values. ``row_mac`` is the HMAC of the
    entry's fields under the audit key, computed when it is written: the sealer chains only
    entries whose MAC holds, so a row inserted behind the application's back is never sealed
    (``verify-audit`` reports it). Its place in the chain is its :class:`AuditLink`.
    """

    __tablename__ = "audit_log"
    # Partitioned by month of occurred_at (backend/core/partitions.py); the table's primary key
    # must hold the partition key, the identity is ``id`` alone.
    __table_args__ = (
        Index("ix_audit_log_occurred_at", "occurred_at"),
        # The auditor's viewer filters by one of these and pages newest first by
        # (occurred_at, id): each index serves its filter in page order (migration auditor_0001).
        Index("ix_audit_log_action_time", "action", "occurred_at", "id"),
        Index("ix_audit_log_actor_time", "actor_id", "occurred_at", "id"),
        Index("ix_audit_log_object_type_time", "object_type", "occurred_at", "id"),
        Index("ix_audit_log_region_time", "region_code", "occurred_at", "id"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )
    __mapper_args__ = {"primary_key": ["id"]}  # noqa: RUF012 - SQLAlchemy API

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | system | household | client
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12))
    detail: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    row_mac: Mapped[str | None] = mapped_column(String(64))


class AuditPending(Base):
    """The sealer's queue: one row per entry not chained yet, deleted once it is.

    Written with the entry, so the sealer reads a small table instead of searching the log.
    ``refused_at`` marks an entry whose MAC does not hold (never sealed; verify reports it).
    """

    __tablename__ = "audit_pending"

    entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    refused_at: Mapped[datetime | None]


class AuditLink(Base):
    """The chain: ``seq`` is gapless and assigned by the single sealer, in sealing order.

    ``hash`` = HMAC(audit key, ``prev_hash`` | the entry's fields with ``seq``), so altering,
    removing or reordering an entry or a link is detected by ``verify-audit``.
    """

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    sealed_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed point of the chain: every row up to ``seq`` verified, ``hash`` is row ``seq``'s.

    ``kind`` is ``verified`` (written by ``verify-audit``) or ``retention`` (written before
    old partitions are dropped: the chain now starts after it). ``signature`` is the HMAC of
    the other fields under the audit key of ``key_id`` (a fingerprint, never the key), so a
    checkpoint inserted or changed in the database is refused.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(64))
