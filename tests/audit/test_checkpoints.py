"""Incremental verification from signed checkpoints: an altered row after the last checkpoint
is found by default, one before it only with ``full``; a forged checkpoint is refused; a
checkpoint survives a key rotation; the daily job notifies admins and auditors."""

from __future__ import annotations

import uuid
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, text

import backend.audit.checkpoints as checkpoints
import backend.audit.service as audit_service
from backend.audit.checkpoints import key_id, notify_failure, verify_chain
from backend.audit.models import AuditCheckpoint, AuditLink
from backend.audit.service import Actor, record, seal_all
from backend.outbox.models import Notification


async def _append(db: Any, n: int) -> list[int]:
    ids = [
        (
            await record(
                db,
                actor=Actor("user", uuid.uuid4()),
                action="test.cp",
                object_type="thing",
                object_id=uuid.uuid4(),
                detail={"i": i},
            )
        ).id
        for i in range(n)
    ]
    await seal_all(db)
    links = {
        link.entry_id: link.seq
        for link in await db.scalars(select(AuditLink).where(AuditLink.entry_id.in_(ids)))
    }
    return [links[i] for i in ids]


async def _alter(db: Any, seq: int) -> None:
    """What a superuser could do behind the triggers."""
    await db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    await db.execute(
        text(
            "UPDATE audit_log SET detail = '{\"i\": 999}' "
            "WHERE id = (SELECT entry_id FROM audit_chain WHERE seq = :s)"
        ),
        {"s": seq},
    )
    await db.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


async def test_incremental_walks_only_after_the_checkpoint_and_full_walks_all(db: Any) -> None:
    before = await _append(db, 4)
    first = await verify_chain(db)
    assert first.result.ok, first.line()
    assert first.recorded is not None and first.recorded.seq == before[-1]

    after = await _append(db, 3)
    second = await verify_chain(db)
    assert second.result.ok
    assert (second.started_after, second.result.checked) == (before[-1], 3)

    await _alter(db, before[1])  # before the last checkpoint: only --full sees it
    assert (await verify_chain(db)).result.ok
    full = await verify_chain(db, full=True)
    assert not full.result.ok
    assert full.result.first_bad_seq == before[1]
    assert "altered" in full.result.reason

    newer = await _append(db, 2)
    await _alter(db, newer[0])  # after the last checkpoint: the default walk finds it
    broken = await verify_chain(db)
    assert (broken.result.ok, broken.result.first_bad_seq) == (False, newer[0])
    assert broken.recorded is None
    assert f"row {newer[0]}" in broken.line()
    assert after  # (the rows in between verified before)


async def test_a_forged_checkpoint_is_refused(db: Any) -> None:
    seqs = await _append(db, 3)
    assert (await verify_chain(db)).result.ok
    await _append(db, 2)
    # someone with database access writes a checkpoint far ahead, to skip rows
    db.add(
        AuditCheckpoint(
            seq=seqs[-1] + 2,
            hash="f" * 64,
            kind="verified",
            created_at=audit_service.utcnow(),
            key_id=key_id(checkpoints.get_keys().audit),
            signature="0" * 64,
        )
    )
    await db.flush()
    check = await verify_chain(db)
    assert not check.result.ok
    assert "forged" in check.result.reason


async def test_a_checkpoint_naming_a_different_hash_is_refused(db: Any) -> None:
    seqs = await _append(db, 2)
    await checkpoints.add_checkpoint(db, seq=seqs[-1], hash_="e" * 64)  # validly signed, wrong
    check = await verify_chain(db)
    assert (check.result.ok, check.result.first_bad_seq) == (False, seqs[-1])
    assert "differs from its checkpoint" in check.result.reason


async def test_checkpoints_survive_a_key_rotation(db: Any, monkeypatch: Any) -> None:
    old_key = checkpoints.get_keys().audit
    await _append(db, 2)
    assert (await verify_chain(db)).result.ok  # checkpoint signed with the old key

    new_key = b"r" * 32
    fake = SimpleNamespace(audit=new_key)
    monkeypatch.setattr(audit_service, "get_keys", lambda: fake)
    monkeypatch.setattr(checkpoints, "get_keys", lambda: fake)
    await _append(db, 2)  # the new key continues the chain

    refused = await verify_chain(db)
    assert not refused.result.ok
    assert "another audit key" in refused.result.reason
    carried = await verify_chain(db, previous_keys=(old_key,))
    assert carried.result.ok, carried.line()
    assert carried.result.checked == 2  # only the new key's rows were walked
    assert carried.recorded is not None and carried.recorded.key_id == key_id(new_key)
    assert (await verify_chain(db)).result.ok  # from now on, no old key needed


async def test_failure_notifies_platform_admins_and_auditors(db: Any, demo: Any) -> None:
    seqs = await _append(db, 2)
    await _alter(db, seqs[-1])
    check = await verify_chain(db, full=True)
    assert not check.result.ok
    sent = await notify_failure(db, check, day=date(2026, 11, 30))
    assert sent >= 2  # the demo has an admin and an auditor
    again = await notify_failure(db, check, day=date(2026, 11, 30))
    assert again == 0  # once a day
    notes = (
        await db.scalars(select(Notification).where(Notification.kind == "audit.verify_failed"))
    ).all()
    users = {n.user_id for n in notes}
    assert demo["admin"] in users
    assert demo["auditor"] in users
    assert all(n.params["row"] == seqs[-1] for n in notes)
    assert check.recorded is None  # a failed walk records no checkpoint


async def test_the_daily_job_seals_verifies_and_records_a_checkpoint(runtime: Any) -> None:
    from backend.audit.tasks import verify_audit_daily
    from jobs.worker import CRON_JOBS

    assert "cron:verify_audit" in {job.name for job in CRON_JOBS}
    async with runtime.transaction() as session:
        await record(
            session, actor=Actor.system(), action="test.daily", object_type="t", object_id="d"
        )
    line = await verify_audit_daily({"runtime": runtime})
    assert line.startswith("audit log intact"), line
    async with runtime.sessionmaker() as session:
        last = (
            await session.scalars(
                select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
            )
        ).first()
        top = await session.scalar(select(AuditLink.seq).order_by(AuditLink.seq.desc()).limit(1))
    assert last is not None and last.seq == top
