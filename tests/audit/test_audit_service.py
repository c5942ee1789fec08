"""The audit log is append-only and HMAC-chained; verification names the first bad row."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from backend.audit.models import AuditLink
from backend.audit.service import Actor, record, seal_all, verify


async def _append(session: Any, n: int) -> list[int]:
    """Record ``n`` entries, seal them, return their sequence numbers."""
    ids = []
    for i in range(n):
        entry = await record(
            session,
            actor=Actor("user", uuid.uuid4()),
            action="test.action",
            object_type="thing",
            object_id=uuid.uuid4(),
            detail={"i": i},
        )
        ids.append(entry.id)
    await seal_all(session)
    links = await session.scalars(select(AuditLink).where(AuditLink.entry_id.in_(ids)))
    by_id = {link.entry_id: link.seq for link in links}
    return [by_id[i] for i in ids]


async def test_chain_verifies(db: Any) -> None:
    seqs = await _append(db, 5)
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    result = await verify(db)
    assert result.ok, result
    assert result.checked >= 5


async def test_update_and_delete_are_refused(db: Any) -> None:
    [seq] = await _append(db, 1)
    entry = await db.scalar(select(AuditLink.entry_id).where(AuditLink.seq == seq))
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("UPDATE audit_log SET action = 'x' WHERE id = :i"), {"i": entry})
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": entry})
    for sql in (
        "UPDATE audit_chain SET hash = 'x' WHERE seq = :s",
        "DELETE FROM audit_chain WHERE seq = :s",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(sql), {"s": seq})


async def _bypass_trigger(db: Any, sql: str, **params: Any) -> None:
    """What an attacker with superuser rights could do; the chain must still expose it."""
    await db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    await db.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
    await db.execute(text(sql), params)
    await db.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    await db.execute(text("ALTER TABLE audit_chain ENABLE TRIGGER USER"))


_ENTRY_OF = "(SELECT entry_id FROM audit_chain WHERE seq = :s)"


async def test_altered_row_is_named(db: Any) -> None:
    seqs = await _append(db, 4)
    await _bypass_trigger(
        db, f"UPDATE audit_log SET detail = '{{\"i\": 99}}' WHERE id = {_ENTRY_OF}", s=seqs[2]
    )
    result = await verify(db)
    assert not result.ok
    assert result.first_bad_seq == seqs[2]
    assert "altered" in result.reason


async def test_missing_row_is_named(db: Any) -> None:
    seqs = await _append(db, 4)
    await _bypass_trigger(db, "DELETE FROM audit_chain WHERE seq = :s", s=seqs[1])
    result = await verify(db)
    assert not result.ok
    assert result.first_bad_seq == seqs[1]
    assert "missing" in result.reason


async def test_deleted_entry_is_named(db: Any) -> None:
    seqs = await _append(db, 3)
    await _bypass_trigger(db, f"DELETE FROM audit_log WHERE id = {_ENTRY_OF}", s=seqs[1])
    result = await verify(db)
    assert (result.ok, result.first_bad_seq) == (False, seqs[1])
    assert "missing" in result.reason


async def test_entries_are_chained_in_sealing_order_without_gaps(db: Any) -> None:
    first = await _append(db, 3)
    second = await _append(db, 2)
    assert first + second == list(range(first[0], first[0] + 5))
    again = await seal_all(db)
    assert again.sealed == 0  # an entry is chained once


async def _forge(db: Any, *, queued: bool) -> uuid.UUID:
    """An entry inserted behind the application's back (it cannot compute a valid MAC)."""
    forged = uuid.uuid4()
    await db.execute(
        text(
            "INSERT INTO audit_log (id, occurred_at, actor_kind, action, object_type, object_id,"
            " detail, row_mac) VALUES (:i, now() - interval '1 hour', 'user', 'x', 't', 'o',"
            " '{}', :m)"
        ),
        {"i": forged, "m": "0" * 64},
    )
    if queued:
        await db.execute(
            text(
                "INSERT INTO audit_pending (entry_id, occurred_at)"
                " VALUES (:i, now() - interval '1 hour')"
            ),
            {"i": forged},
        )
    return forged


async def test_forged_entry_is_not_sealed_and_is_reported(db: Any) -> None:
    await _append(db, 1)
    forged = await _forge(db, queued=True)
    result = await seal_all(db)
    assert (result.sealed, result.refused) == (0, 1)
    verdict = await verify(db)
    assert not verdict.ok
    assert verdict.unsealed == 1
    assert str(forged) in verdict.reason
    assert (await seal_all(db)).refused == 0  # marked refused, not retried forever


async def test_an_entry_outside_the_queue_is_found_by_the_full_scan(db: Any) -> None:
    await _append(db, 1)
    hidden = await _forge(db, queued=False)
    assert (await verify(db)).ok  # the queue does not know it
    verdict = await verify(db, scan_unsealed=True)
    assert (verdict.ok, verdict.unsealed) == (False, 1)
    assert str(hidden) in verdict.reason


async def test_wrong_key_fails(db: Any) -> None:
    await _append(db, 2)
    result = await verify(db, key=b"k" * 32)
    assert not result.ok


async def test_key_rotation_segments_verify_separately(db: Any, monkeypatch: Any) -> None:
    from types import SimpleNamespace

    import backend.audit.service as audit_service

    old = await _append(db, 2)
    new_key = b"n" * 32
    monkeypatch.setattr(audit_service, "get_keys", lambda: SimpleNamespace(audit=new_key))
    new = await _append(db, 2)
    monkeypatch.undo()
    assert (await verify(db, to_seq=old[-1])).ok
    assert (await verify(db, key=new_key, from_seq=new[0])).ok
    assert not (await verify(db)).ok  # one key cannot verify both segments
