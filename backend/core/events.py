"""Outbox topics → handlers. Domains subscribe; the ``process_outbox`` job dispatches.

A handler runs inside the job's transaction, together with marking the event done: a database
effect therefore happens exactly once. Effects outside the database (the search index) must be
idempotent: reload by id and write the current state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from backend.core.runtime import Services
    from backend.outbox.models import OutboxEvent


@dataclass
class HandlerContext:
    session: AsyncSession
    services: Services | None = None  # None in unit tests of handlers that need none


Handler = Callable[[HandlerContext, "OutboxEvent"], Awaitable[None]]

_handlers: dict[str, list[Handler]] = {}


def subscribe(*patterns: str) -> Callable[[Handler], Handler]:
    """Register a handler for topics: an exact topic (``need.published``) or ``need.*`` or ``*``."""

    def decorator(handler: Handler) -> Handler:
        for pattern in patterns:
            bucket = _handlers.setdefault(pattern, [])
            if handler not in bucket:
                bucket.append(handler)
        return handler

    return decorator


def handlers_for(topic: str) -> list[Handler]:
    prefix = topic.split(".", 1)[0]
    return [*_handlers.get(topic, ()), *_handlers.get(f"{prefix}.*", ()), *_handlers.get("*", ())]


def unsubscribe(pattern: str, handler: Handler) -> None:
    if handler in _handlers.get(pattern, []):
        _handlers[pattern].remove(handler)
