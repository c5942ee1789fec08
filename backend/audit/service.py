"""Append to, seal and verify the HMAC-chained audit log.

Writing and chaining are two steps (docs/architecture.md, "The audit chain"):

1. :func:`record` inserts the entry in the caller's business transaction with no lock at all;
   the entry carries ``row_mac``, the HMAC of its own fields.
2. :func:`seal`, run by one sealer at a time under a short advisory lock, chains committed
   entries: each gets the next gapless ``seq`` and ``hash`` = HMAC(prev_hash | fields + seq) in
   ``audit_chain``. The arq job ``seal_audit`` runs it right after every commit that recorded
   something, a cron job sweeps every minute, and tests and the CLI call it directly.

:func:`verify` walks the chain and names the first altered or missing row; entries left
unsealed longer than a threshold are reported too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEntry, AuditLink, AuditPending
from backend.core.db import add_after_commit, queue_of, utcnow
from backend.core.keys import get_keys

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_LOCK_ID = 74_787_001  # pg_advisory_xact_lock key reserved for the audit sealer
SEAL_BATCH = 5000
# verify reports entries still unsealed after this long (the sealer is down, or a row was
# inserted without a valid MAC).
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, the system (jobs), a household (code + PIN) or a partner API client."""

    kind: str
    id: uuid.UUID | None = None
    role: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system")


def _canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _digest(key: bytes, prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hmac.new(key, f"{prev_hash}|{_canonical(fields)}".encode(), hashlib.sha256).hexdigest()


def _row_mac(key: bytes, fields: Mapping[str, Any]) -> str:
    return hmac.new(key, f"entry|{_canonical(fields)}".encode(), hashlib.sha256).hexdigest()


def _entry_fields(row: Any) -> dict[str, Any]:
    """The signed fields of an entry (an :class:`AuditEntry` or a row with the same names)."""
    occurred: datetime = row.occurred_at
    return {
        "id": str(row.id),
        "occurred_at": occurred.isoformat(),
        "actor_id": str(row.actor_id) if row.actor_id else None,
        "actor_kind": row.actor_kind,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "region_code": row.region_code,
        "detail": row.detail,
    }


def entry_mac(key: bytes, row: Any) -> str:
    """The row MAC ``record`` stores with an entry (for bulk writers such as seed-scale)."""
    return _row_mac(key, _entry_fields(row))


def _chain_fields(seq: int, row: Any) -> dict[str, Any]:
    return {"seq": seq, **_entry_fields(row)}


async def key_signs_newest_entry(session: AsyncSession, key: bytes) -> bool | None:
    """Does ``key`` sign the newest audit entry (sealed or not)? None when there is none.

    Tells whether a set of key files belongs to this database without sealing anything (a
    sealer run with a wrong key would refuse the entries it reads)."""
    row = (
        await session.scalars(select(AuditEntry).order_by(AuditEntry.occurred_at.desc()).limit(1))
    ).first()
    if row is None:
        return None
    return hmac.compare_digest(row.row_mac or "", _row_mac(key, _entry_fields(row)))


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
    """Append one entry in the caller's transaction, lock-free; the sealer chains it after
    commit. ``detail`` must hold no personal values."""
    entry = AuditEntry(
        id=uuid.uuid4(),
        occurred_at=utcnow(),
        actor_id=actor.id,
        actor_kind=actor.kind if actor.role is None else f"{actor.kind}:{actor.role}"[:16],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        region_code=region_code,
        detail=detail or {},
    )
    entry.row_mac = _row_mac(get_keys().audit, _entry_fields(entry))
    session.add(entry)
    session.add(AuditPending(entry_id=entry.id, occurred_at=entry.occurred_at))
    if _request_seal not in session.info.get("after_commit", []):
        add_after_commit(session, _request_seal)
    await session.flush()
    return entry


async def _request_seal(session: AsyncSession) -> None:
    """After commit: ask the worker to seal. One job per second at most (the job id); a missed
    request is harmless, the cron sweep seals within a minute."""
    queue = queue_of(session)
    if queue is None:
        return
    try:
        await queue.enqueue("seal_audit", job_id=f"seal_audit:{int(time.time())}")
    except Exception:  # Redis down: the entries are safe; the cron sweep seals them
        log.warning("audit seal request failed; left for the sweep", exc_info=True)


@dataclass(frozen=True)
class SealResult:
    sealed: int
    refused: int
    last_seq: int


async def seal(
    session: AsyncSession, *, limit: int = SEAL_BATCH, key: bytes | None = None
) -> SealResult:
    """Chain up to ``limit`` committed entries of the queue (``audit_pending``), oldest first,
    in the caller's (short) transaction; their queue rows go.

    The advisory lock makes this the only sealer until the caller commits; nothing else ever
    takes it, so no business transaction waits for it. Cost: the batch, whatever the log's size.
    """
    key = key or get_keys().audit
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = (
        await session.execute(
            select(AuditLink.seq, AuditLink.hash).order_by(AuditLink.seq.desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    rows = (
        await session.execute(
            select(AuditEntry.__table__)
            .join(
                AuditPending,
                (AuditPending.entry_id == AuditEntry.id)
                & (AuditPending.occurred_at == AuditEntry.occurred_at),
            )
            .where(AuditPending.refused_at.is_(None))
            .order_by(AuditPending.occurred_at, AuditPending.entry_id)
            .limit(limit)
        )
    ).all()
    links: list[dict[str, Any]] = []
    refused: list[uuid.UUID] = []
    now = utcnow()
    for row in rows:
        fields = _entry_fields(row)
        if row.row_mac is None or not hmac.compare_digest(row.row_mac, _row_mac(key, fields)):
            refused.append(row.id)
            log.error("audit entry %s has no valid MAC; it is not sealed", row.id)
            continue
        seq += 1
        digest = _digest(key, prev_hash, {"seq": seq, **fields})
        links.append(
            {
                "seq": seq,
                "entry_id": row.id,
                "sealed_at": now,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    if links:
        await session.execute(insert(AuditLink), links)
        await session.execute(
            delete(AuditPending).where(AuditPending.entry_id.in_([x["entry_id"] for x in links]))
        )
    if refused:
        await session.execute(
            update(AuditPending).where(AuditPending.entry_id.in_(refused)).values(refused_at=now)
        )
    return SealResult(len(links), len(refused), seq)


async def seal_all(session: AsyncSession, *, key: bytes | None = None) -> SealResult:
    """Seal until the queue is empty, in the caller's transaction (tests, CLI)."""
    sealed = refused = 0
    while True:
        result = await seal(session, key=key)
        sealed, refused = sealed + result.sealed, refused + result.refused
        if result.sealed + result.refused < SEAL_BATCH:
            return SealResult(sealed, refused, result.last_seq)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    last_seq: int = 0
    last_hash: str = GENESIS
    unsealed: int = 0
    problem: str = ""  # MISSING | OUT_OF_ORDER | ALTERED | UNSEALED when not ok


async def unsealed_entries(
    session: AsyncSession, *, older_than: timedelta = STALE_AFTER, everywhere: bool = False
) -> tuple[int, uuid.UUID | None]:
    """How many entries are still unsealed after ``older_than``, and the oldest one's id.

    The queue says it cheaply. ``everywhere`` also searches the whole log for entries that
    have neither a link nor a queue row (inserted behind the application's back, or their
    queue row deleted): a scan, for ``verify-audit --full``.
    """
    cutoff = utcnow() - older_than
    queued = await session.scalar(
        select(func.count()).select_from(AuditPending).where(AuditPending.occurred_at < cutoff)
    )
    oldest = await session.scalar(
        select(AuditPending.entry_id)
        .where(AuditPending.occurred_at < cutoff)
        .order_by(AuditPending.occurred_at)
        .limit(1)
    )
    count = int(queued or 0)
    if everywhere:
        hidden = (
            AuditEntry.occurred_at < cutoff,
            ~exists().where(AuditLink.entry_id == AuditEntry.id),
            ~exists().where(AuditPending.entry_id == AuditEntry.id),
        )
        count += int(
            await session.scalar(select(func.count()).select_from(AuditEntry).where(*hidden)) or 0
        )
        oldest = oldest or await session.scalar(
            select(AuditEntry.id).where(*hidden).order_by(AuditEntry.occurred_at).limit(1)
        )
    return count, oldest


# What went wrong, as a code the auditor's page translates (the reason stays English for the CLI).
MISSING, OUT_OF_ORDER, ALTERED, UNSEALED = "missing", "out_of_order", "altered", "unsealed"


def _check_link(
    row: Any, expected_seq: int, prev_hash: str, key: bytes
) -> tuple[int, str, str] | None:
    """(first bad seq, reason, problem) when this chain row is missing, out of order or altered."""
    if row.seq != expected_seq:
        return expected_seq, f"row {expected_seq} is missing", MISSING
    if row.id is None:
        return row.seq, f"row {row.seq} is missing", MISSING
    if row.link_prev_hash != prev_hash:
        return row.seq, f"row {row.seq} does not follow its predecessor", OUT_OF_ORDER
    if not hmac.compare_digest(row.link_hash, _digest(key, prev_hash, _chain_fields(row.seq, row))):
        return row.seq, f"row {row.seq} was altered", ALTERED
    return None


async def verify(
    session: AsyncSession,
    *,
    key: bytes | None = None,
    from_seq: int = 1,
    to_seq: int | None = None,
    prev_hash: str | None = None,
    stale_after: timedelta | None = STALE_AFTER,
    scan_unsealed: bool = False,
) -> VerifyResult:
    """Walk the chain from ``from_seq``; name the first altered or missing row.

    The walk starts from ``prev_hash`` when given (a checkpoint), otherwise from the stored
    hash of the row before ``from_seq`` (``from_seq`` / ``to_seq`` verify one key's segment
    after a key rotation, docs/operations.md). With ``stale_after``, entries unsealed for
    longer than that fail the check too (``scan_unsealed``: searched in the whole log, not
    only in the sealer's queue).
    """
    key = key or get_keys().audit
    expected_seq, checked = from_seq, 0
    if prev_hash is None:
        prev_hash = GENESIS
        if from_seq > 1:
            before = await session.scalar(
                select(AuditLink.hash).where(AuditLink.seq == from_seq - 1)
            )
            if before is None:
                return VerifyResult(
                    False, 0, from_seq - 1, f"row {from_seq - 1} is missing", problem=MISSING
                )
            prev_hash = before
    entry = AuditEntry.__table__.c
    query = (
        select(
            AuditLink.seq,
            AuditLink.entry_id,
            AuditLink.prev_hash.label("link_prev_hash"),
            AuditLink.hash.label("link_hash"),
            entry.id,
            entry.occurred_at,
            entry.actor_id,
            entry.actor_kind,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.region_code,
            entry.detail,
        )
        .outerjoin(AuditEntry, AuditEntry.id == AuditLink.entry_id)
        .where(AuditLink.seq >= from_seq)
        .order_by(AuditLink.seq)
    )
    if to_seq is not None:
        query = query.where(AuditLink.seq <= to_seq)
    last_seq = from_seq - 1
    result = await session.stream(query.execution_options(yield_per=5000))
    async for rows in result.partitions():  # a batch per await: no task switch per row
        for row in rows:
            bad = _check_link(row, expected_seq, prev_hash, key)
            if bad is not None:
                return VerifyResult(False, checked, bad[0], bad[1], problem=bad[2])
            prev_hash, last_seq, expected_seq = row.link_hash, row.seq, row.seq + 1
            checked += 1
    if stale_after is not None and to_seq is None:
        count, oldest = await unsealed_entries(
            session, older_than=stale_after, everywhere=scan_unsealed
        )
        if count:
            return VerifyResult(
                False,
                checked,
                None,
                f"{count} entries unsealed for more than {stale_after} (oldest: {oldest})",
                last_seq,
                prev_hash,
                count,
                problem=UNSEALED,
            )
    return VerifyResult(True, checked, None, "", last_seq, prev_hash)
