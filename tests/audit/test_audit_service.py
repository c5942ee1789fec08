"""The audit log is append-only and HMAC-chained; verification names the first bad row."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.audit.service import Actor, record, verify


async def _append(session: Any, n: int) -> list[int]:
    seqs = []
    for i in range(n):
        entry = await record(
            session,
            actor=Actor("user", uuid.uuid4()),
            action="test.action",
            object_type="thing",
            object_id=uuid.uuid4(),
            detail={"i": i},
        )
        seqs.append(entry.seq)
    return seqs


async def test_chain_verifies(db: Any) -> None:
    seqs = await _append(db, 5)
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    result = await verify(db)
    assert result.ok, result
    assert result.checked >= 5


async def test_update_and_delete_are_refused(db: Any) -> None:
    [seq] = await _append(db, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = :s"), {"s": seq})
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})


async def _bypass_trigger(db: Any, sql: str, **params: Any) -> None:
    """What an attacker with superuser rights could do; the chain must still expose it."""
    await db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    await db.execute(text(sql), params)
    await db.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


async def test_altered_row_is_named(db: Any) -> None:
    seqs = await _append(db, 4)
    await _bypass_trigger(
        db, "UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = :s", s=seqs[2]
    )
    result = await verify(db)
    assert not result.ok
    assert result.first_bad_seq == seqs[2]
    assert "altered" in result.reason


async def test_missing_row_is_named(db: Any) -> None:
    seqs = await _append(db, 4)
    await _bypass_trigger(db, "DELETE FROM audit_log WHERE seq = :s", s=seqs[1])
    result = await verify(db)
    assert not result.ok
    assert result.first_bad_seq == seqs[1]
    assert "missing" in result.reason


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
