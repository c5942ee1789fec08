"""Helpers shared by tests: sign-in as a demo user, CSRF-aware posting, running the outbox."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.core.sessions import SESSION_COOKIE


async def sign_in_as(client: AsyncTestClient[Any], runtime: Any, user_id: uuid.UUID) -> None:
    """Give the client a session for this user (the sign-in form itself is tested elsewhere)."""
    token = await runtime.services.sessions.create(user_id)
    client.cookies.set(SESSION_COOKIE, token)


async def csrf_token(client: AsyncTestClient[Any]) -> str:
    if "tx_csrf" not in client.cookies:
        await client.get("/healthz")
        await client.get("/signin")
    return str(client.cookies.get("tx_csrf"))


async def post_form(
    client: AsyncTestClient[Any], url: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    token = await csrf_token(client)
    kwargs.setdefault("follow_redirects", False)
    return await client.post(url, data={**data, "_csrf_token": token}, **kwargs)


async def post_json(client: AsyncTestClient[Any], url: str, payload: Any, **kwargs: Any) -> Any:
    token = await csrf_token(client)
    return await client.post(url, json=payload, headers={"x-csrftoken": token}, **kwargs)


async def drain_outbox(runtime: Any, *, limit: int = 1000) -> int:
    """Process every pending outbox event inline, as the worker would (tests without a worker)."""
    from backend.outbox.models import OutboxEvent, OutboxState
    from jobs.tasks.outbox import process_outbox

    done = 0
    for _ in range(limit):
        async with runtime.sessionmaker() as session:
            ids = (
                await session.scalars(
                    select(OutboxEvent.id)
                    .where(OutboxEvent.state == OutboxState.PENDING)
                    .order_by(OutboxEvent.created_at)
                    .limit(100)
                )
            ).all()
        if not ids:
            break
        for event_id in ids:
            await process_outbox({"runtime": runtime}, str(event_id))
            done += 1
    return done


async def run_pending_handlers(session: Any, name_prefix: str) -> int:
    """Run, inside the test's own transaction, the outbox subscribers whose name starts with
    ``name_prefix`` for every pending event (the events stay pending): what the outbox job
    would do for those subscribers, for tests that work in a rolled-back transaction."""
    from backend.core.events import HandlerContext, handlers_for
    from backend.outbox.models import OutboxEvent, OutboxState

    events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.state == OutboxState.PENDING)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
    ).all()
    ran = 0
    for event in events:
        for handler in handlers_for(event.topic):
            if handler.__name__.startswith(name_prefix):
                await handler(HandlerContext(session=session), event)
                ran += 1
    return ran
