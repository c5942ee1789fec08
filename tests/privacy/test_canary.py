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
from tests.helpers import csrf_token, drain_outbox, post_json, sign_in_as


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


def _receipt_with_exif(text: str) -> bytes:
    """A JPEG receipt whose EXIF carries ``text`` (description) and a GPS position."""
    import io

    from PIL import Image

    image = Image.new("RGB", (80, 60), (240, 240, 240))
    exif = Image.Exif()
    exif[0x010E] = text.encode("utf-8").decode("latin-1")  # ImageDescription
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def test_no_personal_value_leaves_through_organization_texts(
    client: Any, runtime: Any, demo: dict[str, Any], tmp_path: Any
) -> None:
    """The organization side: a household the organization claimed, then its name and phone
    planted in a project update, a disbursement purpose, a receipt's metadata and a feedback
    comment. Every text is refused; the receipt is stored without its metadata; the project
    page, the ledger (page, CSV, API), the receipt and the organization's feedback page carry
    none of the values."""
    from tests.helpers import post_form

    m = _markers(4)
    await sign_in_as(client, runtime, demo["caseworker"])
    r = await post_json(
        client,
        "/api/v1/households",
        {**m, "region_code": "330106004", "category": "dibao", "member_ages": [71]},
    )
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    for path, body in (
        (f"/households/{hid}/verify", {"basis": "canary"}),
        (f"/households/{hid}/consents", {"purpose": "publish_needs"}),
    ):
        assert (await post_form(client, path, body)).status_code == 303
    r = await post_json(
        client,
        f"/api/v1/households/{hid}/needs",
        {"category": "goods", "title": "需要一台轮椅", "body": "老人腿脚不便。", "quantity": 1},
    )
    nid = r.json()["id"]
    assert (
        await post_json(client, f"/api/v1/households/needs/{nid}/publish", {})
    ).status_code == 200

    await sign_in_as(client, runtime, demo["org_member"])
    r = await post_json(
        client, "/api/v1/claims", {"need_id": nid, "organization_id": str(demo["org:charity"])}
    )
    assert r.status_code in {200, 201}, r.text
    project = demo["project:warm_nest"]
    planted = f"已为{m['head_name']}老人送去轮椅，电话{m['phone']}"
    r = await post_form(client, f"/projects/{project}/updates", {"body": planted})
    assert r.status_code == 422
    token = await csrf_token(client)
    r = await client.post(
        f"/donations/manage/{project}/disbursements",
        data={"amount": "1", "purpose": planted, "_csrf_token": token},
        files={"receipt": ("r.jpg", _receipt_with_exif("ok"), "image/jpeg")},
    )
    assert r.status_code == 422
    r = await client.post(
        f"/donations/manage/{project}/disbursements",
        data={"amount": "1", "purpose": "购买轮椅", "_csrf_token": token},
        files={"receipt": ("r.jpg", _receipt_with_exif(planted), "image/jpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    from backend.donations.models import Disbursement
    from backend.fulfilment import service as fulfilment
    from backend.privacy.gate import PersonalDataFound

    async with runtime.sessionmaker() as session:
        disbursement = (
            await session.scalars(
                select(Disbursement)
                .where(Disbursement.project_id == project)
                .order_by(Disbursement.created_at.desc())
            )
        ).first()
    await sign_in_as(client, runtime, demo["org_admin"])
    r = await post_form(
        client, f"/donations/disbursements/{disbursement.id}/decide", {"decision": "approve"}
    )
    assert r.status_code == 303, r.text[:300]

    # feedback: the household's comment, shown to the organization, is refused as well
    from backend.households import service as households
    from backend.resources.models import Claim
    from tests.fulfilment.factories import user

    async with runtime.transaction() as session:
        claim = (await session.scalars(select(Claim).where(Claim.need_id == uuid.UUID(nid)))).one()
        member = await user(session, demo["org_member"])
        caseworker = await user(session, demo["caseworker"])
        issued = await households.issue_code(session, caseworker, uuid.UUID(hid))
        opened = await fulfilment.open_for_claim(session, member, claim.id)
        delivery = await fulfilment.record_delivery(
            session,
            member,
            opened.id,
            fulfilment.DeliveryIn(
                delivered_on=fulfilment.today_local(),
                description="轮椅",
                quantity=opened.promised,
                volunteer_minutes=30,
                notes="",
            ),
            photos=[],
            storage=None,  # type: ignore[arg-type]  # no photo
        )
        await fulfilment.confirm_with_code(
            session, member, delivery.id, issued.code, issued.pin, client_ip="127.0.0.1"
        )
        delivery_id = delivery.id
    async with runtime.transaction() as session:
        with pytest.raises(PersonalDataFound):
            await fulfilment.give_feedback(
                session, delivery_id, 5, planted, household_id=uuid.UUID(hid)
            )

    texts: list[str] = []
    org_pages = [f"/org/{demo['org:charity']}/feedback", f"/donations/manage/{project}"]
    for url in org_pages:
        response = await client.get(url)
        assert response.status_code == 200, url
        texts.append(response.text)
    client.cookies.clear()
    for url in (
        f"/projects/{project}",
        f"/projects/{project}/ledger",
        f"/projects/{project}/ledger.csv",
        f"/api/v1/projects/{project}/ledger",
        f"/donations/disbursements/{disbursement.id}/receipt",
    ):
        response = await client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        texts.append(response.content.decode("utf-8", "replace"))
        texts.append(response.content.decode("latin-1"))
    haystack = "\n".join(texts)
    for field, value in m.items():
        assert value not in haystack, f"{field} leaked"
    assert m["phone"][3:] not in haystack
    receipt = texts[-1]
    assert "GPS" not in receipt and "Exif" not in receipt  # stored without its metadata
