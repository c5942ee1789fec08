"""One transaction rule: a request commits only when its response is a success (< 400).

Each handler below flushes a change (a region row) with its audit row and outbox event, then
answers in a different way. Nothing in the handlers asks for a rollback: the response decides.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import MediaType, Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEntry
from backend.audit.service import Actor
from backend.core.db import add_after_commit
from backend.core.errors import Conflict, Invalid
from backend.core.http import DB, form_error
from backend.outbox.models import OutboxEvent
from backend.outbox.service import record_change
from backend.regions.models import Region, RegionLevel

ACTION = "test.transaction_rule"
after_commit_ran: list[str] = []


async def _change(db: AsyncSession, code: str) -> None:
    db.add(Region(code=code, name="测试", level=RegionLevel.PROVINCE, path=code))
    await db.flush()
    await record_change(
        db,
        actor=Actor.system(),
        action=ACTION,
        object_type="region",
        object_id=uuid.uuid5(uuid.NAMESPACE_URL, code),
        detail={"code": code},
    )

    async def ran(_: AsyncSession) -> None:
        after_commit_ran.append(code)

    add_after_commit(db, ran)


@get("/_tx/{code:str}/{mode:str}", include_in_schema=False)
async def change_then_answer(
    request: Request[Any, Any, Any], db: DB, code: FromPath[str], mode: FromPath[str]
) -> Response[Any] | Template | Redirect:
    await _change(db, code)
    if mode == "ok":
        return Response({"ok": True}, media_type=MediaType.JSON)
    if mode == "redirect":
        return Redirect("/", status_code=303)
    if mode == "json-409":
        return Response({"error": "conflict"}, status_code=409, media_type=MediaType.JSON)
    if mode == "form-422":
        return form_error(
            request,
            "accounts/signup.html",
            Invalid("bad input", fields={"email": "invalid"}),
            form={"email": "kept@example.org"},
            roles=(),
        )
    if mode == "raise-409":
        raise Conflict("conflict")
    raise RuntimeError("unexpected")


@pytest.fixture(scope="module")
async def tx_client(database_url: str, redis_url: str) -> AsyncIterator[Any]:
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.config import get_settings

    app = create_app(
        get_settings(),
        database_url=database_url,
        redis_url=redis_url,
        start_worker=False,
        extra_handlers=[change_then_answer],
    )
    async with AsyncTestClient(app=app) as c:
        yield c


async def _kept(runtime: Any, code: str) -> tuple[bool, int, int]:
    """(region row exists, audit rows, outbox events) for the change made under ``code``."""
    object_id = uuid.uuid5(uuid.NAMESPACE_URL, code)
    async with runtime.sessionmaker() as s:
        region = await s.get(Region, code)
        audits = await s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == ACTION, AuditEntry.object_id == str(object_id))
        )
        events = await s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.topic == ACTION, OutboxEvent.aggregate_id == object_id)
        )
        if region is not None:
            await s.execute(delete(OutboxEvent).where(OutboxEvent.aggregate_id == object_id))
            await s.delete(region)
            await s.commit()
    return region is not None, int(audits or 0), int(events or 0)


@pytest.mark.parametrize(
    ("mode", "status", "kept"),
    [
        ("ok", 200, True),
        ("redirect", 303, True),
        ("json-409", 409, False),
        ("form-422", 422, False),
        ("raise-409", 409, False),
        ("boom", 500, False),
    ],
)
async def test_the_response_status_decides_commit_or_rollback(
    tx_client: Any, runtime: Any, mode: str, status: int, kept: bool
) -> None:
    code = "99" + "".join(secrets.choice("0123456789") for _ in range(8))
    response = await tx_client.get(f"/_tx/{code}/{mode}", follow_redirects=False)
    assert response.status_code == status
    region, audits, events = await _kept(runtime, code)
    assert (region, audits, events) == ((True, 1, 1) if kept else (False, 0, 0))
    assert (code in after_commit_ran) is kept


async def test_form_error_rerenders_with_the_errors_and_its_status(tx_client: Any) -> None:
    code = "98" + "".join(secrets.choice("0123456789") for _ in range(8))
    response = await tx_client.get(f"/_tx/{code}/form-422", headers={"accept": "text/html"})
    assert response.status_code == 422
    assert "bad input" in response.text
    assert "kept@example.org" in response.text


async def test_a_job_transaction_rolls_back_when_the_job_fails(runtime: Any) -> None:
    """Jobs use ``runtime.transaction()``: committed when the block ends, rolled back (with its
    audit row and outbox event, and without its after-commit work) when it raises."""
    code = "97" + "".join(secrets.choice("0123456789") for _ in range(8))
    with pytest.raises(RuntimeError):
        async with runtime.transaction() as session:
            await _change(session, code)
            raise RuntimeError("the job failed")
    assert await _kept(runtime, code) == (False, 0, 0)
    assert code not in after_commit_ran
    async with runtime.transaction() as session:
        await _change(session, code)
    assert await _kept(runtime, code) == (True, 1, 1)
    assert code in after_commit_ran
