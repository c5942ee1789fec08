"""Send stored messages (after the transaction that wrote them committed) and daily digests.

A message row is locked while it is sent; a sent one is skipped, so a job run twice sends once
(an SMTP failure after the server accepted the message is the only way to send it twice).
With no SMTP / SMS provider configured the message is marked sent with transport ``dev``
and stays readable on the development mailbox page.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.config import get_settings
from backend.core.db import utcnow
from backend.core.repository import get_by_id
from backend.core.runtime import Services
from backend.integrations.mail import DevMailbox, Mailer, OutgoingEmail
from backend.integrations.sms import DevSMS, SMSSender
from backend.notifications import render
from backend.notifications import repository as repo
from backend.notifications.models import Channel, Message, MessageState

log = logging.getLogger(__name__)


async def deliver(session: AsyncSession, message_id: uuid.UUID, services: Services) -> str:
    message = await repo.lock_message(session, message_id)
    if message is None or message.state != MessageState.PENDING:
        return "skipped"
    message.attempts += 1
    try:
        if message.channel == Channel.EMAIL:
            mail: Mailer = services.mailer or DevMailbox()
            await mail.send(
                OutgoingEmail(
                    to=message.address,
                    subject=message.subject,
                    text=message.body_text,
                    html=message.body_html,
                    locale=message.locale,
                )
            )
            message.transport = mail.name
        else:
            sms: SMSSender = services.sms or DevSMS()
            await sms.send(message.address, message.body_text)
            message.transport = sms.name
    except Exception as exc:  # kept on the row; the cron retries up to MAX_ATTEMPTS
        message.error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= repo.MAX_ATTEMPTS:
            message.state = MessageState.FAILED
        log.warning("message %s not sent (attempt %d)", message.id, message.attempts)
        return "failed"
    message.state = MessageState.SENT
    message.sent_at = utcnow()
    message.error = ""
    return "sent"


async def pending_ids(session: AsyncSession, *, now: datetime | None = None) -> list[uuid.UUID]:
    return await repo.pending_message_ids(
        session, older_than=(now or utcnow()) - timedelta(seconds=30)
    )


async def build_digests(session: AsyncSession) -> list[uuid.UUID]:
    """One e-mail per user bundling the day's low-priority messages; returns the new ids."""
    by_user: dict[uuid.UUID, list[Message]] = defaultdict(list)
    for row in await repo.digest_rows(session):
        if row.user_id is not None:
            by_user[row.user_id].append(row)
    created: list[uuid.UUID] = []
    settings = get_settings()
    for user_id, rows in by_user.items():
        user = await get_by_id(session, User, user_id)
        if user is None:
            continue
        lines = [_first_line(r) for r in rows]
        mail = render.email(
            kind="digest",
            group="digest",
            locale=user.locale,
            params={},
            base_url=settings.base_url,
            link="/notifications",
            display_name=user.display_name,
            lines=lines,
        )
        message_id = await repo.insert_message(
            session,
            event_id=uuid.uuid4(),
            recipient=str(user.id),
            channel=Channel.EMAIL,
            user_id=user.id,
            address=user.email,
            kind="digest",
            locale=user.locale,
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
            state=MessageState.PENDING,
            transport="",
            error="",
        )
        for row in rows:
            row.state = MessageState.DIGESTED
            row.sent_at = utcnow()
        if message_id is not None:
            created.append(message_id)
    await session.flush()
    return created


def _first_line(message: Message) -> str:
    """The notification sentence of a stored e-mail (the paragraph after the greeting)."""
    parts = [p.strip() for p in message.body_text.split("\n\n") if p.strip()]
    return parts[1] if len(parts) > 1 else (parts[0] if parts else "")
