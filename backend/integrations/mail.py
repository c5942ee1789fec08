"""E-mail: the only module importing ``aiosmtplib``.

``Mailer`` is what the notifications domain uses. ``SMTPMailer`` sends through the server named
by ``TONGXIN_SMTP_*``; ``DevMailbox`` is the embedded default: it sends nothing, and the message
row stays visible on the development mailbox page (/dev/mailbox). ``mailer()`` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import aiosmtplib

from backend.config import Settings


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    locale: str = "zh_CN"


class Mailer(Protocol):
    name: str

    async def send(self, mail: OutgoingEmail) -> None: ...


def build_message(mail: OutgoingEmail, sender: str) -> EmailMessage:
    """A multipart/alternative message: the plain-text part first, then the HTML part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or None)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    # after the parts exist: making the alternative moves Content-* headers into the first part
    message["Content-Language"] = "zh-CN" if mail.locale == "zh_CN" else "en"
    return message


@dataclass
class SMTPMailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: str = "starttls"
    timeout: float = 20.0
    name: str = "smtp"

    async def send(self, mail: OutgoingEmail) -> None:
        await aiosmtplib.send(
            build_message(mail, self.sender),
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            timeout=self.timeout,
        )


@dataclass
class DevMailbox:
    """No SMTP configured: nothing leaves the machine; the stored row is the mailbox."""

    name: str = "dev"

    async def send(self, mail: OutgoingEmail) -> None:
        build_message(mail, "dev@localhost")  # the same checks as a real send


def mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SMTPMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
        )
    return DevMailbox()
