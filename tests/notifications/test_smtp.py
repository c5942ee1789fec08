"""E-mail through a real SMTP server (aiosmtpd on loopback, started here): both parts, the
recipient's language, and verification / reset links that work exactly once."""

from __future__ import annotations

import email
import re
import socket
import uuid
from collections.abc import Iterator
from email.message import Message as MimeMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from backend.accounts.models import User
from backend.core.sessions import SESSION_COOKIE
from backend.integrations.mail import SMTPMailer
from backend.notifications.models import Message, MessageState
from backend.notifications.tasks import send_message, send_pending
from tests.helpers import drain_outbox, post_form


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], MimeMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def to(self, address: str) -> list[MimeMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
async def _fresh_ip_allowance(runtime: Any) -> None:
    """The per-IP reset allowance lives an hour in Redis: earlier runs must not count."""
    async for key in runtime.queue.pool.scan_iter(match="rl:pwreset_ip:*"):
        await runtime.queue.pool.delete(key)


@pytest.fixture
def smtp(runtime: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    port = _port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    previous = runtime.services.mailer
    runtime.services.mailer = SMTPMailer(
        host="127.0.0.1", port=port, sender="Tongxin <noreply@tongxin.test>", security="none"
    )
    try:
        yield inbox
    finally:
        runtime.services.mailer = previous
        controller.stop()


async def _send_all(runtime: Any, address: str) -> None:
    """The send_message job for every pending message to ``address``."""
    async with runtime.sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Message.id).where(
                    Message.address == address, Message.state == MessageState.PENDING
                )
            )
        )
    assert ids, f"no message waiting for {address}"
    for message_id in ids:
        assert await send_message({"runtime": runtime}, str(message_id)) == "sent"


def _parts(message: MimeMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def _link(text: str, path: str) -> str:
    found = re.search(rf"http://[^\s]+({re.escape(path)}[A-Za-z0-9_\-]+)", text)
    assert found, text
    return found.group(1)


async def test_sign_up_sends_a_verification_link_that_works_once(
    client: Any, runtime: Any, smtp: Inbox
) -> None:
    address = f"new-{uuid.uuid4().hex[:8]}@example.org"
    client.cookies.set("tx_lang", "en")
    r = await post_form(
        client,
        "/signup",
        {
            "email": address,
            "display_name": "Lin",
            "password": "correct-horse-9",
            "role": "volunteer",
        },
    )
    assert r.status_code == 303
    await drain_outbox(runtime)
    await _send_all(runtime, address)

    (message,) = smtp.to(address)
    assert message["Content-Language"] == "en"
    text, html = _parts(message)
    assert "Please confirm your e-mail address" in text
    assert "Please confirm your e-mail address" in html and "<a href=" in html
    assert "请" not in text  # English, as chosen at sign-up
    path = _link(text, "/account/verify/")
    assert path in html

    page = await client.get(path)
    assert page.status_code == 200 and "Confirm e-mail address" in page.text
    done = await post_form(client, path, {})
    assert done.status_code == 200 and "is confirmed" in done.text
    again = await post_form(client, path, {})
    assert again.status_code in (409, 410, 422)
    assert (await client.get(path)).status_code == 410
    async with runtime.sessionmaker() as session:
        user = (await session.scalars(select(User).where(User.email == address))).one()
        assert user.email_verified_at is not None


async def test_password_reset_by_mail_in_the_users_language(
    client: Any, runtime: Any, smtp: Inbox
) -> None:
    # a zh_CN account with a live session
    address = f"reset-{uuid.uuid4().hex[:8]}@example.org"
    client.cookies.set("tx_lang", "zh_CN")
    r = await post_form(
        client,
        "/signup",
        {"email": address, "display_name": "王", "password": "old-password-1", "role": "donor"},
    )
    assert r.status_code == 303
    old_session = client.cookies.get(SESSION_COOKIE)
    assert old_session
    client.cookies.clear()

    known = await post_form(client, "/password/forgot", {"email": address})
    unknown = await post_form(
        client, "/password/forgot", {"email": f"nobody-{uuid.uuid4().hex[:6]}@example.org"}
    )
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="_csrf_token" value="[^"]*"|"x-csrftoken": "[^"]*"|nonce="[^"]*"')
    assert strip.sub("", known.text) == strip.sub("", unknown.text)  # the same answer

    await drain_outbox(runtime)
    # the sweeper path: the cron job sends what is pending (verification and reset mails)
    # (other tests leave pending mail too: the sweeper sends 200 a run, oldest first)
    for _ in range(50):
        if not await send_pending({"runtime": runtime, "clock": _later}):
            break
    reset = [m for m in smtp.to(address) if "/password/reset/" in _parts(m)[0]]
    assert len(reset) == 1
    assert reset[0]["Content-Language"] == "zh-CN"
    text, html = _parts(reset[0])
    assert "重置" in text and "30" in text
    assert "重置" in html
    path = _link(text, "/password/reset/")

    assert (await client.get(path)).status_code == 200
    short = await post_form(client, path, {"password": "short"})
    assert short.status_code == 422  # the link is not used up by a bad password
    ok = await post_form(client, path, {"password": "new-password-22"})
    assert ok.status_code == 200, ok.text
    assert (await post_form(client, path, {"password": "third-password-3"})).status_code in (
        409,
        410,
        422,
    )
    # every session ended; the new password signs in, the old one does not
    assert await runtime.services.sessions.get(old_session) is None
    bad = await post_form(client, "/signin", {"email": address, "password": "old-password-1"})
    assert bad.status_code == 422
    good = await post_form(client, "/signin", {"email": address, "password": "new-password-22"})
    assert good.status_code == 303


async def test_reset_requests_are_rate_limited(client: Any, runtime: Any) -> None:
    address = f"flood-{uuid.uuid4().hex[:8]}@example.org"
    statuses = [
        (await post_form(client, "/password/forgot", {"email": address})).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429


def _later() -> Any:
    from datetime import timedelta

    from backend.core.db import utcnow

    return utcnow() + timedelta(minutes=5)
