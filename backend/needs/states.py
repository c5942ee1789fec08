"""The need's life: the one function that moves a need between states.

Every domain that changes a need's state (households and needs, claims, matches, fulfilment,
jobs) calls :func:`transition`; it checks the move, writes the audit row and the outbox event
in the caller's transaction. Callers lock the row first (``SELECT … FOR UPDATE``) when two
people could move it at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor
from backend.core.errors import Conflict, NotFound
from backend.core.i18n import N_
from backend.needs.models import NEED_TRANSITIONS, Need, NeedState
from backend.outbox.service import record_change


async def lock_need(session: AsyncSession, need_id: Any) -> Need:
    # populate_existing: a need loaded earlier in the transaction (unlocked) is refreshed with
    # the locked row's values and version, or the next UPDATE would fail as stale.
    need = (
        await session.scalars(
            select(Need)
            .where(Need.id == need_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if need is None:
        raise NotFound(N_("Need not found."))
    return need


def can_move(current: NeedState, target: NeedState) -> bool:
    return target in NEED_TRANSITIONS[current]


async def transition(
    session: AsyncSession,
    need: Need,
    target: NeedState,
    *,
    actor: Actor,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> Need:
    """Move ``need`` to ``target`` or raise 409 naming both states."""
    current = need.state
    if not can_move(current, target):
        raise Conflict(
            N_("This need is {current} and cannot become {target}."),
            code="need_state",
            current=current.value,
            target=target.value,
        )
    need.state = target
    payload = {"from": current.value, "to": target.value}
    await record_change(
        session,
        actor=actor,
        action=f"need.{target.value}",
        object_type="need",
        object_id=need.id,
        region_code=need.region_code,
        detail={**payload, **({"reason_given": True} if reason else {}), **(detail or {})},
        payload=payload,
    )
    await session.flush()
    return need
