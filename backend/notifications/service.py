"""Write notifications (from outbox handlers) and render them in the reader's language."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.audit.service import Actor
from backend.core.errors import Invalid
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.templating import translate
from backend.notifications import repository as repo
from backend.notifications.catalogue import CATALOGUE
from backend.notifications.messages import GROUP_LABELS, LOW_PRIORITY_GROUPS, MESSAGES, PHONE_RE
from backend.notifications.models import Channel, Contact, Message
from backend.outbox.models import Notification
from backend.outbox.service import record_change


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


# --- preferences (issue 18) ----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupChoice:
    group: str
    label: str
    inapp: bool
    email: bool
    sms: bool
    digest: bool
    digest_allowed: bool
    inapp_locked: bool  # urgent events of this group reach the inbox anyway


async def preference_rows(
    session: AsyncSession, user: CurrentUser
) -> tuple[list[GroupChoice], str]:

    stored = {(p.group, p.channel): p for p in await repo.preferences(session, user.id)}
    urgent_groups = {e.group for e in CATALOGUE.values() if e.urgent}
    rows = []
    for group in dict.fromkeys(e.group for e in CATALOGUE.values()):

        def on(channel: Channel, default: bool, group: str = group) -> bool:
            pref = stored.get((group, channel))
            return pref.enabled if pref else default

        email_pref = stored.get((group, Channel.EMAIL))
        rows.append(
            GroupChoice(
                group=group,
                label=GROUP_LABELS[group],
                inapp=on(Channel.INAPP, True),
                email=on(Channel.EMAIL, True),
                sms=on(Channel.SMS, False),
                digest=bool(email_pref and email_pref.digest),
                digest_allowed=group in LOW_PRIORITY_GROUPS,
                inapp_locked=group in urgent_groups,
            )
        )
    contact = await repo.contact(session, user.id)
    return rows, contact.sms_phone if contact else ""


async def save_preferences(
    session: AsyncSession, user: CurrentUser, form: dict[str, str], *, phone: str
) -> None:
    """``form`` holds ``<group>:<channel>`` checkboxes and ``<group>:digest``."""

    phone = phone.strip().replace(" ", "").replace("-", "")
    if phone and not PHONE_RE.match(phone):
        raise Invalid(
            N_("Enter a mainland mobile number of 11 digits, or leave it empty."),
            fields={"sms_phone": "invalid"},
        )
    for group in dict.fromkeys(e.group for e in CATALOGUE.values()):
        for channel in (Channel.INAPP, Channel.EMAIL, Channel.SMS):
            await repo.save_preference(
                session,
                user.id,
                group,
                channel,
                enabled=form.get(f"{group}:{channel.value}") == "on",
                digest=channel == Channel.EMAIL
                and group in LOW_PRIORITY_GROUPS
                and form.get(f"{group}:digest") == "on",
            )
    contact = await repo.contact(session, user.id)
    if contact is None:
        session.add(Contact(user_id=user.id, sms_phone=phone))
    else:
        contact.sms_phone = phone
    await record_change(
        session,
        actor=Actor("user", user.id),
        action="user.notification_settings_changed",
        object_type="user",
        object_id=user.id,
    )
    await session.flush()


async def dev_mailbox(session: AsyncSession, pager: Page) -> tuple[list[Message], Page]:
    rows, total = await repo.mailbox(session, offset=pager.offset, limit=pager.size)
    return list(rows), pager.with_total(total)
