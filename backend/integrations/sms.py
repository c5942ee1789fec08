"""SMS: a Protocol, Aliyun SMS (阿里云短信服务, ``SendSms`` over its RPC HTTP API with the
HMAC-SHA1 signature scheme), and the development sender that keeps messages in the mailbox.

Aliyun sends only approved templates: ``TONGXIN_SMS_TEMPLATE_CODE`` names one with a single
variable ``${content}``, which receives the notification's short text (public values only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from backend.config import Settings


class SMSError(Exception):
    """The provider refused the message (its code and message are kept on the row)."""


class SMSSender(Protocol):
    name: str

    async def send(self, phone: str, text: str) -> None: ...


def percent_encode(value: str) -> str:
    """Aliyun's POP encoding: RFC 3986 unreserved characters stay, everything else is %XX."""
    return quote(value, safe="-_.~")


def sign(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Signature of RPC-style Aliyun APIs (SignatureVersion 1.0, HMAC-SHA1)."""
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class AliyunSMS:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    transport: httpx.AsyncBaseTransport | None = None
    clock: Any = field(default=lambda: datetime.now(UTC))
    name: str = "aliyun"

    def signed_params(self, phone: str, text: str) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"content": text}, ensure_ascii=False),
            "Timestamp": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = sign(params, self.access_key_secret)
        return params

    async def send(self, phone: str, text: str) -> None:
        async with httpx.AsyncClient(transport=self.transport, timeout=15) as client:
            response = await client.get(self.endpoint, params=self.signed_params(phone, text))
        try:
            body = response.json()
        except ValueError as exc:
            raise SMSError(f"HTTP {response.status_code}: not JSON") from exc
        if response.status_code != 200 or body.get("Code") != "OK":
            raise SMSError(f"{body.get('Code', response.status_code)}: {body.get('Message', '')}")


@dataclass
class DevSMS:
    """No SMS provider configured: the message stays in the development mailbox."""

    name: str = "dev"

    async def send(self, phone: str, text: str) -> None:
        return None


def sms_sender(settings: Settings) -> SMSSender:
    if settings.sms_provider == "aliyun" and settings.sms_access_key_id:
        return AliyunSMS(
            access_key_id=settings.sms_access_key_id,
            access_key_secret=settings.sms_access_key_secret or "",
            sign_name=settings.sms_sign_name,
            template_code=settings.sms_template_code,
            endpoint=settings.sms_endpoint,
        )
    return DevSMS()
