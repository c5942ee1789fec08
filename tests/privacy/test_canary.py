"""Canary: personal fields of several households hold unique marker strings; after the
publishing, browsing, API and job paths ran, no public page, API response, job payload or log
line contains any of them."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from backend.outbox.models import Notification, OutboxEvent
from backend.privacy.idcard import make_fake_id
from jobs.context import JobCtx
from tests.helpers import drain_outbox, post_json, sign_in_as


def _markers(n: int) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    return {
        "head_name": f"雀{'甲乙丙丁戊'[n]}{tag}",
        "id_number": make_fake_id("330106", date(1950 + n, 3, 7), 900 + n),
        "phone": f"1390571{n:01d}{uuid.uuid4().int % 1000:03d}",
        "address": f"浙江省杭州市西湖区西溪街道金丝雀{tag}路{700 + n}号",
    }


@pytest.mark.parametrize("households", [3])
async def test_no_personal_value_leaves(
    client: Any,
    runtime: Any,
    demo: dict[str, Any],
    households: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await sign_in_as(client, runtime, demo["caseworker"])
    markers: list[dict[str, str]] = []
    need_ids: list[str] = []
    household_ids: list[str] = []
    for n in range(households):
        m = _markers(n)
        markers.append(m)
        r = await post_json(
            client,
            "/api/v1/households",
            {**m, "region_code": "330106004", "category": "dibao", "member_ages": [45, 44]},
        )
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        household_ids.append(hid)
        assert m["phone"] not in r.text
        assert m["id_number"] not in r.text
        for path, body in (
            (f"/households/{hid}/verify", {"basis": "canary"}),
            (f"/households/{hid}/consents", {"purpose": "publish_needs"}),
        ):
            from tests.helpers import post_form

            assert (await post_form(client, path, body, follow_redirects=False)).status_code == 303
        r = await post_json(
            client,
            f"/api/v1/households/{hid}/needs",
            {"category": "goods", "title": "需要冬季棉被", "body": "家里冬天很冷。", "quantity": 2},
        )
        assert r.status_code == 201, r.text
        nid = r.json()["id"]
        # a draft quoting the household's own phone number is blocked
        bad = await post_json(
            client,
            f"/api/v1/households/{hid}/needs",
            {"category": "goods", "title": "棉被", "body": f"电话 {m['phone']}", "quantity": 1},
        )
        blocked = await post_json(
            client, f"/api/v1/households/needs/{bad.json()['id']}/publish", {}
        )
        assert blocked.status_code == 422
        assert m["phone"] not in blocked.text
        r = await post_json(client, f"/api/v1/households/needs/{nid}/publish", {})
        assert r.status_code == 200, r.text
        need_ids.append(nid)

    # messages: an organization claims each need and releases one; the caseworker wants SMS
    # too, so claims reach the inbox, e-mail and SMS bodies (issue 18)
    from backend.accounts.service import load_current_user
    from backend.notifications.models import Channel, Contact, Message
    from backend.notifications.repository import save_preference
    from backend.resources import service as resources

    async with runtime.transaction() as session:
        await save_preference(
            session, demo["caseworker"], "needs", Channel.SMS, enabled=True, digest=False
        )
        if await session.get(Contact, demo["caseworker"]) is None:
            session.add(Contact(user_id=demo["caseworker"], sms_phone="13700000000"))
    async with runtime.transaction() as session:
        member = await load_current_user(session, demo["org_member"])
        assert member is not None
        claims = [
            await resources.claim_need(
                session, member, need_id=uuid.UUID(nid), organization_id=demo["org:charity"]
            )
            for nid in need_ids
        ]
        await resources.release_claim(session, member, claims[0].id, "运力不足")

    # jobs: outbox handlers, the lapse and deadline jobs
    await drain_outbox(runtime)
    from backend.households.tasks import verification_lapse
    from backend.needs.tasks import expire_needs

    ctx: JobCtx = {"runtime": runtime}
    await verification_lapse(ctx)
    await expire_needs(ctx)
    from backend.notifications.tasks import daily_reminders, review_deadlines, send_pending

    await review_deadlines(ctx)
    await daily_reminders(ctx)
    await drain_outbox(runtime)
    await send_pending(ctx)

    client.cookies.clear()
    texts: list[str] = []
    for url in [
        "/needs",
        "/needs?page=2",
        "/api/v1/needs",
        "/api/v1/needs?region=330106",
        *(f"/needs/{i}" for i in need_ids),
        *(f"/api/v1/needs/{i}" for i in need_ids),
    ]:
        response = await client.get(url)
        assert response.status_code == 200, url
        texts.append(response.text)
    detail = texts[-1]
    assert "需要冬季棉被" in detail
    async with runtime.sessionmaker() as session:
        payloads = (await session.execute(select(OutboxEvent.topic, OutboxEvent.payload))).all()
    texts += [f"{topic} {payload}" for topic, payload in payloads]
    async with runtime.sessionmaker() as session:
        sent = (
            await session.execute(
                select(Message.channel, Message.subject, Message.body_text, Message.body_html)
            )
        ).all()
        inapp = (await session.execute(select(Notification.kind, Notification.params))).all()
    bodies = [(c, f"{s}\n{t}\n{h}") for c, s, t, h in sent]
    titles = {Channel.EMAIL: 0, Channel.SMS: 0}
    for channel, body in bodies:
        titles[channel] += "需要冬季棉被" in body  # needs are named by their public title
    assert titles[Channel.EMAIL] and titles[Channel.SMS], titles
    texts += [body for _, body in bodies]
    texts += [f"{kind} {params}" for kind, params in inapp]
    texts += [record.getMessage() for record in caplog.records]
    haystack = "\n".join(texts)
    for m in markers:
        for field, value in m.items():
            assert value not in haystack, f"{field} leaked"
        assert m["id_number"][6:14] + m["id_number"][14:] not in haystack
        assert m["phone"][3:] not in haystack
