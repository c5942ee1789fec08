"""Append to and verify the HMAC-chained audit log.

Appends take a transaction-level advisory lock, so ``seq`` is gapless and the chain has one
order; the lock is released when the caller's transaction commits or rolls back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEntry
from backend.core.db import utcnow
from backend.core.keys import get_keys

GENESIS = "0" * 64
_LOCK_ID = 74_787_001  # pg_advisory_xact_lock key reserved for the audit chain


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, the system (jobs), a household (code + PIN) or a partner API client."""

    kind: str
    id: uuid.UUID | None = None
    role: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system")


def _digest(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, f"{prev_hash}|{body}".encode(), hashlib.sha256).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "id": str(entry.id),
        "occurred_at": entry.occurred_at.isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_kind": entry.actor_kind,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "region_code": entry.region_code,
        "detail": entry.detail,
    }


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one row in the caller's transaction. ``detail`` must hold no personal values."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = (
        await session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry = AuditEntry(
        seq=seq,
        id=uuid.uuid4(),
        occurred_at=utcnow(),
        actor_id=actor.id,
        actor_kind=actor.kind if actor.role is None else f"{actor.kind}:{actor.role}"[:16],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        region_code=region_code,
        detail=detail or {},
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = _digest(get_keys().audit, prev_hash, _fields(entry))
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


async def verify(
    session: AsyncSession,
    *,
    key: bytes | None = None,
    from_seq: int = 1,
    to_seq: int | None = None,
) -> VerifyResult:
    """Walk the chain; name the first altered or missing row.

    ``from_seq`` / ``to_seq`` verify one key's segment after a key rotation
    (docs/operations.md): a segment starts from the stored hash of the row before it.
    """
    key = key or get_keys().audit
    expected_seq, prev_hash, checked = from_seq, GENESIS, 0
    if from_seq > 1:
        before = await session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == from_seq - 1))
        if before is None:
            return VerifyResult(False, 0, from_seq - 1, f"row {from_seq - 1} is missing")
        prev_hash = before
    query = select(AuditEntry).where(AuditEntry.seq >= from_seq).order_by(AuditEntry.seq)
    if to_seq is not None:
        query = query.where(AuditEntry.seq <= to_seq)
    result = await session.stream_scalars(query)
    async for entry in result:
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"row {expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False, checked, entry.seq, f"row {entry.seq} does not follow its predecessor"
            )
        if not hmac.compare_digest(entry.hash, _digest(key, prev_hash, _fields(entry))):
            return VerifyResult(False, checked, entry.seq, f"row {entry.seq} was altered")
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return VerifyResult(True, checked)
