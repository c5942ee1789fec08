"""Signed checkpoints of the audit chain, and the audit log's retention by month.

A checkpoint says "every row up to ``seq`` verified, and row ``seq``'s hash is ``hash``",
HMAC-signed with the audit key (``key_id`` is the key's fingerprint, never the key). Verifying
from the last checkpoint only walks the rows after it; a checkpoint whose signature does not
hold is refused, so nobody can skip rows by inserting one. ``retention`` checkpoints are
written before old audit partitions are dropped: the chain then starts after them.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditCheckpoint, AuditLink
from backend.audit.service import VerifyResult, verify
from backend.core.db import utcnow
from backend.core.keys import get_keys

VERIFIED = "verified"
RETENTION = "retention"
# Below this no audit partition is ever dropped (Cybersecurity Law art. 21); the database
# function refuses younger ones too.
MIN_AUDIT_RETENTION_MONTHS = 6


def key_id(key: bytes) -> str:
    """A fingerprint of the audit key: which key signed a checkpoint, without revealing it."""
    return hmac.new(key, b"tongxin audit key id", hashlib.sha256).hexdigest()[:16]


def _signature(key: bytes, seq: int, hash_: str, kind: str, created_at: datetime) -> str:
    message = f"checkpoint|{seq}|{hash_}|{kind}|{created_at.isoformat()}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


async def add_checkpoint(
    session: AsyncSession, *, seq: int, hash_: str, kind: str = VERIFIED, key: bytes | None = None
) -> AuditCheckpoint:
    key = key or get_keys().audit
    now = utcnow()
    checkpoint = AuditCheckpoint(
        seq=seq,
        hash=hash_,
        kind=kind,
        created_at=now,
        key_id=key_id(key),
        signature=_signature(key, seq, hash_, kind, now),
    )
    session.add(checkpoint)
    await session.flush()
    return checkpoint


class CheckpointRefused(Exception):
    """The latest checkpoint's signature does not hold (forged or altered), or it was signed by
    another key than the ones given."""


def check_signature(checkpoint: AuditCheckpoint, key: bytes) -> bool:
    expected = _signature(
        key, checkpoint.seq, checkpoint.hash, checkpoint.kind, checkpoint.created_at
    )
    return hmac.compare_digest(checkpoint.signature, expected)


async def latest(session: AsyncSession, *, kind: str | None = None) -> AuditCheckpoint | None:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
    if kind is not None:
        query = query.where(AuditCheckpoint.kind == kind)
    return (await session.scalars(query.limit(1))).first()


@dataclass(frozen=True)
class Start:
    """Where a walk starts: after ``seq`` (0 = genesis), from ``hash``."""

    seq: int
    hash: str
    checkpoint: AuditCheckpoint | None


async def trusted_start(
    session: AsyncSession,
    *,
    kind: str | None = None,
    key: bytes | None = None,
    previous_keys: tuple[bytes, ...] = (),
) -> Start | None:
    """The latest checkpoint (of ``kind``), its signature checked; None when there is none.

    A checkpoint signed by a previous key (after a key rotation) is accepted when that key is
    in ``previous_keys``; the caller then re-signs it with the current key.
    """
    checkpoint = await latest(session, kind=kind)
    if checkpoint is None:
        return None
    key = key or get_keys().audit
    for candidate in (key, *previous_keys):
        if checkpoint.key_id == key_id(candidate) and check_signature(checkpoint, candidate):
            return Start(checkpoint.seq, checkpoint.hash, checkpoint)
    if checkpoint.key_id != key_id(key) and not previous_keys:
        raise CheckpointRefused(
            f"checkpoint at row {checkpoint.seq} was signed by another audit key "
            f"({checkpoint.key_id}); give the previous key (docs/operations.md, key rotation)"
        )
    raise CheckpointRefused(f"checkpoint at row {checkpoint.seq} is forged or altered")


# ---------------------------------------------------------------- retention of the audit log


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


async def drop_old_audit_partitions(
    session: AsyncSession, *, keep_months: int, months: list[date], today: date
) -> list[str]:
    """Drop the audit partitions (``months``, the existing ones) older than ``keep_months``.

    0 keeps everything (the default). Before a month goes, a ``retention`` checkpoint records
    the last chain row of the entries it holds: the chain is verified from there on. The
    database function refuses partitions younger than six months whatever this asks.
    """
    if keep_months <= 0:
        return []
    keep_months = max(keep_months, MIN_AUDIT_RETENTION_MONTHS)
    index = today.year * 12 + today.month - 1 - keep_months
    cutoff = date(index // 12, index % 12 + 1, 1)
    dropped = []
    for month in sorted(months):
        if _month_after(month) > cutoff:
            continue
        part = f"audit_log_p{month:%Y%m}"
        anchor = (
            await session.execute(
                text(
                    f"SELECT c.seq, c.hash FROM audit_chain c JOIN {part} a ON a.id = c.entry_id "  # noqa: S608 - partition name from a date
                    "ORDER BY c.seq DESC LIMIT 1"
                )
            )
        ).first()
        if anchor is not None:
            current = await latest(session, kind=RETENTION)
            if current is None or current.seq < anchor[0]:
                await add_checkpoint(
                    session, seq=int(anchor[0]), hash_=str(anchor[1]), kind=RETENTION
                )
        await session.execute(text("SET LOCAL lock_timeout = '2s'"))
        if await session.scalar(
            text("SELECT tongxin_drop_month_partition('audit_log', :m)"), {"m": month}
        ):
            dropped.append(part)
    return dropped


async def last_link(session: AsyncSession) -> tuple[int, str] | None:
    row = (
        await session.execute(
            select(AuditLink.seq, AuditLink.hash).order_by(AuditLink.seq.desc()).limit(1)
        )
    ).first()
    return (int(row[0]), str(row[1])) if row else None


# ---------------------------------------------------------------- incremental verification


@dataclass(frozen=True)
class AuditCheck:
    """One ``verify-audit`` run: the verdict, where it started, the checkpoint it recorded."""

    result: VerifyResult
    mode: str  # "incremental" | "full"
    started_after: int  # 0 = from the first row
    recorded: AuditCheckpoint | None = None

    def line(self) -> str:
        r = self.result
        where = f"after checkpoint {self.started_after}" if self.started_after else "from row 1"
        if r.ok:
            note = f"; checkpoint at row {self.recorded.seq}" if self.recorded else ""
            return f"audit log intact: {r.checked} rows verified {where} ({self.mode}){note}"
        at = f"at row {r.first_bad_seq}: " if r.first_bad_seq is not None else ": "
        return f"audit log BROKEN {at}{r.reason} ({r.checked} rows verified {where} before it)"


async def verify_chain(
    session: AsyncSession,
    *,
    full: bool = False,
    key: bytes | None = None,
    previous_keys: tuple[bytes, ...] = (),
    record_checkpoint: bool = True,
) -> AuditCheck:
    """Verify from the last checkpoint (default) or the whole chain (``full``: from the first
    row, or after the last ``retention`` checkpoint when old months were dropped).

    The starting checkpoint's signature is checked, and so is the chain row it names: a
    forged, altered or foreign-key checkpoint is refused. When the walk succeeds a new signed
    checkpoint is recorded at its last row (the caller commits). A checkpoint signed by a
    previous key (``previous_keys``, after a key rotation) is carried over: signed again with
    the current key at the same row.
    """
    key = key or get_keys().audit
    mode = "full" if full else "incremental"
    try:
        start = await trusted_start(
            session, kind=RETENTION if full else None, key=key, previous_keys=previous_keys
        )
    except CheckpointRefused as exc:
        return AuditCheck(VerifyResult(False, 0, None, str(exc)), mode, 0)
    if start is None:
        result = await verify(session, key=key, scan_unsealed=full)
        after = 0
    else:
        after = start.seq
        stored = await session.scalar(select(AuditLink.hash).where(AuditLink.seq == start.seq))
        if stored is None:
            return AuditCheck(
                VerifyResult(False, 0, start.seq, f"row {start.seq} is missing"), mode, after
            )
        if not hmac.compare_digest(stored, start.hash):
            return AuditCheck(
                VerifyResult(False, 0, start.seq, f"row {start.seq} differs from its checkpoint"),
                mode,
                after,
            )
        result = await verify(
            session, key=key, from_seq=start.seq + 1, prev_hash=start.hash, scan_unsealed=full
        )
    recorded = None
    if result.ok and record_checkpoint:
        carried = (
            start is not None
            and start.checkpoint is not None
            and (start.checkpoint.key_id != key_id(key))
        )
        if result.last_seq > after or carried:
            recorded = await add_checkpoint(
                session, seq=result.last_seq, hash_=result.last_hash, key=key
            )
    return AuditCheck(result, mode, after, recorded)


async def notify_failure(session: AsyncSession, check: AuditCheck, *, day: date) -> int:
    """Tell every platform admin and auditor, in-app, once per day."""
    from backend.audit.repository import platform_admins_and_auditors
    from backend.notifications.service import notify

    event = uuid.uuid5(uuid.NAMESPACE_URL, f"tongxin:audit-verify-failed:{day.isoformat()}")
    row = check.result.first_bad_seq
    sent = 0
    for user_id in await platform_admins_and_auditors(session):
        sent += await notify(
            session,
            event_id=event,
            kind="audit.verify_failed",
            user_id=user_id,
            params={"row": "—" if row is None else row},
        )
    return sent
