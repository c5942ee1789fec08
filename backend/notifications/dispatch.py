"""From a catalogue event to rows: in-app notifications and outgoing e-mails/SMS.

Runs inside the outbox job's transaction, so each row is written exactly once; the unique
constraints (in-app: event, user, organization, kind; messages: event, recipient, channel) make
a replay write nothing. Messages are sent by a job after that transaction commits.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User, UserStatus
from backend.config import get_settings
from backend.core.db import add_after_commit, queue_of
from backend.core.queue import JobQueue
from backend.core.repository import get_by_id
from backend.notifications import render
from backend.notifications import repository as repo
from backend.notifications.catalogue import Entry, Produced
from backend.notifications.messages import LOW_PRIORITY_GROUPS, PHONE_RE
from backend.notifications.models import Channel, MessageState
from backend.notifications.service import notify
from backend.outbox.models import OutboxEvent


@dataclass(frozen=True)
class Choice:
    inapp: bool = True
    email: bool = True
    sms: bool = False
    digest: bool = False


DEFAULTS: dict[Channel, bool] = {Channel.INAPP: True, Channel.EMAIL: True, Channel.SMS: False}


async def choice(session: AsyncSession, user_id: uuid.UUID, group: str, *, urgent: bool) -> Choice:
    """The user's channels for a group (defaults: in-app and e-mail on, SMS off); urgent events
    always reach the in-app inbox, and never wait for a digest."""
    chosen = dict(DEFAULTS)
    digest = False
    for pref in await repo.preferences(session, user_id):
        if pref.group == group:
            chosen[pref.channel] = pref.enabled
            if pref.channel == Channel.EMAIL:
                digest = pref.digest
    return Choice(
        inapp=chosen[Channel.INAPP] or urgent,
        email=chosen[Channel.EMAIL],
        sms=chosen[Channel.SMS],
        digest=digest and not urgent and group in LOW_PRIORITY_GROUPS,
    )


def _queue_send(session: AsyncSession, message_id: uuid.UUID) -> None:
    pending: list[uuid.UUID] = session.info.setdefault("messages_pending", [])
    if not pending:
        add_after_commit(session, _relay)
    pending.append(message_id)


async def _relay(session: AsyncSession) -> None:
    ids: list[uuid.UUID] = session.info.pop("messages_pending", [])
    queue: JobQueue | None = queue_of(session)
    if queue is None:
        return  # the sender cron picks them up
    try:
        for message_id in ids:
            await queue.enqueue("send_message", str(message_id), job_id=f"msg:{message_id}")
    except Exception:  # Redis down: the rows are safe, the cron sends them
        return


async def write_email(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    kind: str,
    group: str,
    address: str,
    locale: str,
    params: dict[str, object],
    user: User | None = None,
    link: str = "",
    action_url: str = "",
    digest: bool = False,
) -> uuid.UUID | None:
    settings = get_settings()
    mail = render.email(
        kind=kind,
        group=group,
        locale=locale,
        params=params,
        base_url=settings.base_url,
        link=link,
        action_url=action_url,
        display_name=user.display_name if user else "",
    )
    recipient = (
        str(user.id)
        if user is not None
        else "addr:" + hashlib.sha256(address.lower().encode()).hexdigest()[:59]
    )
    message_id = await repo.insert_message(
        session,
        event_id=event_id,
        recipient=recipient,
        channel=Channel.EMAIL,
        user_id=user.id if user else None,
        address=address,
        kind=kind,
        locale=locale,
        subject=mail.subject,
        body_text=mail.text,
        body_html=mail.html,
        state=MessageState.DIGEST if digest else MessageState.PENDING,
        transport="",
        error="",
    )
    if message_id is not None and not digest:
        _queue_send(session, message_id)
    return message_id


async def write_sms(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    kind: str,
    user: User,
    phone: str,
    params: dict[str, object],
) -> uuid.UUID | None:
    message_id = await repo.insert_message(
        session,
        event_id=event_id,
        recipient=str(user.id),
        channel=Channel.SMS,
        user_id=user.id,
        address=phone,
        kind=kind,
        locale=user.locale,
        subject="",
        body_text=render.sms(kind, user.locale, params),
        body_html="",
        state=MessageState.PENDING,
        transport="",
        error="",
    )
    if message_id is not None:
        _queue_send(session, message_id)
    return message_id


async def produce(
    session: AsyncSession, event: OutboxEvent, entry: Entry, produced: Produced
) -> None:
    urgent = entry.urgent or produced.urgent
    params = dict(produced.params)
    if not entry.inapp_elsewhere:
        for org_id in produced.organizations:
            await notify(
                session,
                event_id=event.id,
                kind=entry.name,
                organization_id=org_id,
                params=params,
                link=produced.link,
            )
    people: list[uuid.UUID] = []
    for user_id in produced.users:
        if user_id not in people:
            people.append(user_id)
    for org_id in produced.organizations:
        for user_id in await repo.organization_admins(session, org_id):
            if user_id not in people:
                people.append(user_id)
    direct = set(produced.users)
    for user_id in people:
        user = await get_by_id(session, User, user_id)
        if user is None or user.status == UserStatus.DISABLED:
            continue
        chosen = await choice(session, user_id, entry.group, urgent=urgent)
        if user_id in direct and chosen.inapp and not entry.inapp_elsewhere:
            await notify(
                session,
                event_id=event.id,
                kind=entry.name,
                user_id=user_id,
                params=params,
                link=produced.link,
            )
        if chosen.email and user.email and user.email_verified_at is not None:
            await write_email(
                session,
                event_id=event.id,
                kind=entry.name,
                group=entry.group,
                address=user.email,
                locale=user.locale,
                params=params,
                user=user,
                link=produced.link,
                digest=chosen.digest,
            )
        if chosen.sms:
            contact = await repo.contact(session, user_id)
            if contact is not None and PHONE_RE.match(contact.sms_phone):
                await write_sms(
                    session,
                    event_id=event.id,
                    kind=entry.name,
                    user=user,
                    phone=contact.sms_phone,
                    params=params,
                )
