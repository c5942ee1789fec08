"""SMS through Aliyun's SendSms API, intercepted at the HTTP boundary (an ``httpx.MockTransport``
in place of the network), like the Stripe tests: the request is signed the way Aliyun checks
it, the text is the notification's public sentence, refusals are kept on the row."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from sqlalchemy import select

from backend.integrations.sms import AliyunSMS, SMSError, sign
from backend.notifications.delivery import deliver
from backend.notifications.models import Channel, Contact, Message, MessageState
from backend.notifications.repository import save_preference
from tests.helpers import drain_outbox
from tests.notifications.causes import CAUSES, Ctx

SECRET = "test-secret-不要用"


def _independent_signature(params: dict[str, str], secret: str) -> str:
    """Aliyun's RPC signature written again from its documentation, to check ours."""

    def enc(value: str) -> str:
        return quote(value, safe="~").replace("+", "%20").replace("*", "%2A")

    query = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    to_sign = "GET&%2F&" + enc(query)
    return base64.b64encode(
        hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()


def test_signature_matches_the_documented_example() -> None:
    """The worked example of Aliyun's SMS signature documentation."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert sign(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


class FakeAliyun:
    def __init__(self, *, code: str = "OK") -> None:
        self.code = code
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))
        signature = params.pop("Signature")
        if signature != _independent_signature(params, SECRET):
            return httpx.Response(400, json={"Code": "SignatureDoesNotMatch", "Message": "bad"})
        if self.code != "OK":
            return httpx.Response(200, json={"Code": self.code, "Message": "触发号码天级流控"})
        return httpx.Response(
            200,
            json={"Code": "OK", "Message": "OK", "BizId": "9006197469364984^0", "RequestId": "x"},
        )

    def sender(self) -> AliyunSMS:
        return AliyunSMS(
            access_key_id="LTAI-test",
            access_key_secret=SECRET,
            sign_name="同心平台",
            template_code="SMS_000001",
            transport=httpx.MockTransport(self.handler),
            clock=lambda: datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        )

    def sent(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(urlsplit(str(r.url)).query)) for r in self.requests]


async def test_send_sms_signs_the_request() -> None:
    fake = FakeAliyun()
    await fake.sender().send("13800138000", "【同心】测试短信")
    (sent,) = fake.sent()
    assert fake.requests[0].method == "GET"
    assert fake.requests[0].url.host == "dysmsapi.aliyuncs.com"
    assert sent["Action"] == "SendSms" and sent["Version"] == "2017-05-25"
    assert sent["PhoneNumbers"] == "13800138000"
    assert sent["SignName"] == "同心平台" and sent["TemplateCode"] == "SMS_000001"
    assert json.loads(sent["TemplateParam"]) == {"content": "【同心】测试短信"}
    assert sent["Timestamp"] == "2026-11-30T08:00:00Z"


async def test_a_refusal_raises_with_the_providers_code() -> None:
    with pytest.raises(SMSError, match=r"isv\.BUSINESS_LIMIT_CONTROL"):
        await FakeAliyun(code="isv.BUSINESS_LIMIT_CONTROL").sender().send("13800138000", "x")


async def test_a_notification_reaches_the_phone_of_who_asked_for_sms(
    runtime: Any, demo: dict[str, Any], tmp_path: Any
) -> None:
    donor = demo["donor"]
    phone = "139" + str(uuid.uuid4().int % 10**8).zfill(8)
    await drain_outbox(runtime)  # earlier events reach the donor without SMS
    async with runtime.transaction() as session:
        await save_preference(session, donor, "funds", Channel.SMS, enabled=True, digest=False)
        contact = await session.get(Contact, donor)
        if contact is None:
            session.add(Contact(user_id=donor, sms_phone=phone))
        else:
            contact.sms_phone = phone
    try:
        async with runtime.transaction() as session:
            await CAUSES["donation.booked"](session, demo, Ctx("donation.booked", tmp_path))
        await drain_outbox(runtime)
        async with runtime.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(Message).where(Message.address == phone, Message.channel == Channel.SMS)
                )
            )
        (row,) = rows
        assert row.state == MessageState.PENDING
        assert "谢谢" in row.body_text and "¥500.00" in row.body_text

        refusing = FakeAliyun(code="isv.BUSINESS_LIMIT_CONTROL")
        async with runtime.transaction() as session:
            assert (
                await deliver(session, row.id, replace(runtime.services, sms=refusing.sender()))
                == "failed"
            )
        fake = FakeAliyun()
        async with runtime.transaction() as session:
            assert (
                await deliver(session, row.id, replace(runtime.services, sms=fake.sender()))
                == "sent"
            )
        async with runtime.transaction() as session:  # sent once only
            assert (
                await deliver(session, row.id, replace(runtime.services, sms=fake.sender()))
                == "skipped"
            )
        (sent,) = fake.sent()
        assert sent["PhoneNumbers"] == phone
        assert json.loads(sent["TemplateParam"])["content"] == row.body_text
        async with runtime.sessionmaker() as session:
            done = await session.get(Message, row.id)
            assert done is not None
            assert done.state == MessageState.SENT and done.transport == "aliyun"
            assert done.attempts == 2 and done.error == ""
    finally:
        async with runtime.transaction() as session:
            await save_preference(session, donor, "funds", Channel.SMS, enabled=False, digest=False)
