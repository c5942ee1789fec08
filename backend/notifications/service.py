"""Write notifications (from outbox handlers) and render them in the reader's language."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.templating import translate
from backend.notifications import repository as repo
from backend.outbox.models import Notification

#: kind → message id (``{name}`` parameters from ``Notification.params``).
MESSAGES: dict[str, str] = {
    "match.approved": N_(
        "A match for the need “{title}” was approved for your organization. "
        "Please accept or decline it."
    ),
    "match.accepted": N_("{organization} accepted the match for the need “{title}”."),
    "match.declined": N_(
        "{organization} declined the match for the need “{title}”. Reason: {reason}"
    ),
    "match.expired": N_("The match for the need “{title}” expired without an answer."),
    "match.run_done": N_("The matching run for {county} finished with {proposals} proposals."),
    "audit.verify_failed": N_(
        "The daily check of the audit log failed (row {row}). "
        "Run “tongxin verify-audit” and investigate before relying on the audit trail."
    ),
}


async def notify(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    kind: str,
    user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    params: dict[str, object] | None = None,
    link: str = "",
) -> bool:
    if user_id is None and organization_id is None:
        return False
    return await repo.insert_once(
        session,
        event_id=event_id,
        kind=kind,
        user_id=user_id,
        organization_id=organization_id,
        params=params or {},
        link=link,
    )


@dataclass(frozen=True)
class Shown:
    id: uuid.UUID
    text: str
    link: str
    created_at: datetime
    unread: bool


def render(notification: Notification) -> str:
    msgid = MESSAGES.get(notification.kind)
    if msgid is None:
        return notification.kind
    params = {k: ("" if v is None else v) for k, v in (notification.params or {}).items()}
    try:
        return translate(msgid, **params)
    except (KeyError, IndexError, ValueError):
        return translate(msgid.split("{", 1)[0])


async def page_for(
    session: AsyncSession, user: CurrentUser, pager: Page
) -> tuple[list[Shown], Page]:
    rows, total = await repo.listing(
        session, user.id, user.approved_org_ids(), offset=pager.offset, limit=pager.size
    )
    shown = [Shown(n.id, render(n), n.link, n.created_at, n.read_at is None) for n in rows]
    return shown, pager.with_total(total)


async def unread(session: AsyncSession, user: CurrentUser) -> int:
    return await repo.unread_count(session, user.id, user.approved_org_ids())


async def mark_all_read(session: AsyncSession, user: CurrentUser) -> int:
    return await repo.mark_read(session, user.id, user.approved_org_ids())


def org_ids(user: CurrentUser) -> Sequence[uuid.UUID]:
    return user.approved_org_ids()
