"""Donor pages, Stripe Checkout through the intercepted API, the public ledger, CSV and receipts."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from PIL import Image
from sqlalchemy import select

from backend.donations.models import Donation, DonationChannel, DonationState
from tests.donations.conftest import FakeStripeAPI, make_donation, make_project
from tests.fulfilment.factories import png_bytes
from tests.helpers import post_form, sign_in_as


async def test_checkout_session_is_created_once_with_ids_only(
    stripe_client: Any, runtime: Any, demo: Any, fake_stripe: FakeStripeAPI
) -> None:
    project = await make_project(runtime, demo)
    await sign_in_as(stripe_client, runtime, demo["donor"])
    page = await stripe_client.get(f"/projects/{project.id}/donate")
    assert page.status_code == 200
    assert 'value="stripe"' in page.text
    form = {
        "amount": "100",
        "custom_amount": "88.8",
        "channel": "stripe",
        "anonymous": "on",
        "message": "加油",
        "submission": str(uuid.uuid4()),
    }
    first = await post_form(
        stripe_client, f"/projects/{project.id}/donate", form, follow_redirects=False
    )
    second = await post_form(
        stripe_client, f"/projects/{project.id}/donate", form, follow_redirects=False
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")

    calls = [r for r in fake_stripe.requests if r.url.path == "/v1/checkout/sessions"]
    assert len(calls) == 2
    assert calls[0].headers["idempotency-key"] == calls[1].headers["idempotency-key"]
    sent = fake_stripe.form(calls[0])
    async with runtime.sessionmaker() as session:
        donations = (
            await session.scalars(select(Donation).where(Donation.project_id == project.id))
        ).all()
    assert len(donations) == 1
    donation = donations[0]
    assert donation.amount_fen == 8_880
    assert donation.anonymous
    assert donation.stripe_session_id
    assert sent["currency"] == ["cny"]
    assert sent["line_items[0][price_data][unit_amount]"] == ["8880"]
    assert sorted(sent[k][0] for k in sent if k.startswith("payment_method_types")) == [
        "alipay",
        "card",
        "wechat_pay",
    ]
    assert sent["payment_method_options[wechat_pay][client]"] == ["web"]
    metadata = {k: v for k, v in sent.items() if "metadata" in k}
    assert metadata == {
        "metadata[donation_id]": [str(donation.id)],
        "metadata[project_id]": [str(project.id)],
        "payment_intent_data[metadata][donation_id]": [str(donation.id)],
        "payment_intent_data[metadata][project_id]": [str(project.id)],
    }
    assert "周捐赠" not in calls[0].content.decode()
    assert "加油" not in calls[0].content.decode()

    success = await stripe_client.get(f"/donations/{donation.id}/success")
    assert success.status_code == 200
    assert 'hx-trigger="every 3s"' in success.text


async def test_stripe_outage_is_a_clear_409(
    stripe_client: Any, runtime: Any, demo: Any, fake_stripe: FakeStripeAPI
) -> None:
    fake_stripe.fail_checkout = True
    project = await make_project(runtime, demo)
    await sign_in_as(stripe_client, runtime, demo["donor"])
    response = await post_form(
        stripe_client,
        f"/projects/{project.id}/donate",
        {"amount": "50", "channel": "stripe", "submission": str(uuid.uuid4())},
    )
    assert response.status_code == 409
    async with runtime.sessionmaker() as session:
        assert (
            await session.scalars(select(Donation).where(Donation.project_id == project.id))
        ).all() == []


async def test_projects_that_take_no_donations(client: Any, runtime: Any, demo: Any) -> None:
    await sign_in_as(client, runtime, demo["donor"])
    for project in (
        await make_project(runtime, demo, target_fen=5_000, raised_fen=5_000),
        await make_project(runtime, demo, overdue=True),
    ):
        page = await client.get(f"/projects/{project.id}/donate")
        assert page.status_code == 409
        assert 'id="donations-closed"' in page.text
        assert 'type="submit" class="form-submit"' not in page.text
        ledger = await client.get(f"/projects/{project.id}/ledger")
        assert f'href="/projects/{project.id}/donate"' not in ledger.text
        response = await post_form(
            client,
            f"/projects/{project.id}/donate",
            {"amount": "50", "channel": "offline", "submission": str(uuid.uuid4())},
        )
        assert response.status_code == 409


async def test_invalid_amount_rerenders_the_form(client: Any, runtime: Any, demo: Any) -> None:
    project = await make_project(runtime, demo)
    await sign_in_as(client, runtime, demo["donor"])
    response = await post_form(
        client,
        f"/projects/{project.id}/donate",
        {"custom_amount": "12.345", "channel": "offline", "submission": str(uuid.uuid4())},
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text


async def test_public_ledger_csv_and_receipt(client: Any, runtime: Any, demo: Any) -> None:
    project = await make_project(runtime, demo)
    named = await make_donation(
        runtime, project, demo["donor"], amount_fen=5_050, display_name="周捐赠"
    )
    hidden = await make_donation(runtime, project, demo["donor"], amount_fen=7_000, anonymous=True)
    from backend.audit.service import Actor
    from backend.donations import service

    async with runtime.transaction() as session:
        for d, pi in ((named, "pi_named"), (hidden, "pi_hidden")):
            await service.book_credit(
                session, d.id, amount_fen=d.amount_fen, payment_intent_id=pi, actor=Actor.system()
            )
    page = await client.get(f"/projects/{project.id}/ledger")
    assert page.status_code == 200
    assert "周捐赠" in page.text
    assert "¥120.50" in page.text
    assert page.text.count("周捐赠") == 1

    export = await client.get(f"/projects/{project.id}/ledger.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel and WPS read Chinese
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert list(rows[0]) == [
        "入账时间",
        "类型",
        "金额（元）",
        "入账后余额（元）",
        "捐赠者",
        "用途或原因",
        "票据",
    ]
    assert [(r["类型"], r["金额（元）"], r["入账后余额（元）"], r["捐赠者"]) for r in rows] == [
        ("捐款", "50.50", "50.50", "周捐赠"),
        ("捐款", "70.00", "120.50", ""),
    ]
    client.cookies.set("tx_lang", "en")
    english = await client.get(f"/projects/{project.id}/ledger.csv")
    client.cookies.delete("tx_lang")
    head = next(csv.reader(io.StringIO(english.text.lstrip("\ufeff"))))
    assert head[:3] == ["Booked at", "Type", "Amount (yuan)"]
    assert "Donation" in english.text
    assert "donor@demo" not in export.text
    assert "pi_" not in export.text

    await sign_in_as(client, runtime, demo["donor"])
    pdf = await client.get(f"/donations/{named.id}/receipt.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "50.50" in text
    assert "周捐赠" in text
    history = await client.get("/me/donations")
    assert f"/donations/{named.id}/receipt.pdf" in history.text
    pending = await make_donation(runtime, project, demo["donor"])
    assert (await client.get(f"/donations/{pending.id}/receipt.pdf")).status_code == 404


async def test_disbursement_upload_and_four_eyes_through_the_pages(
    client: Any, runtime: Any, demo: Any
) -> None:
    project = await make_project(runtime, demo)
    pledge = await make_donation(
        runtime, project, demo["donor"], amount_fen=20_000, channel=DonationChannel.OFFLINE
    )
    await sign_in_as(client, runtime, demo["org_member"])
    confirmed = await post_form(
        client, f"/donations/{pledge.id}/confirm", {"reference": "BANK-9"}, follow_redirects=False
    )
    assert confirmed.status_code == 303
    from tests.helpers import csrf_token

    token = await csrf_token(client)
    png = png_bytes(gps=True)  # a JPEG carrying GPS: served without it
    upload = await client.post(
        f"/donations/manage/{project.id}/disbursements",
        data={"amount": "80", "purpose": "采购防水材料", "_csrf_token": token},
        files={"receipt": ("invoice.jpg", png, "image/jpeg")},
        follow_redirects=False,
    )
    assert upload.status_code == 303, upload.text[:500]
    fake = await client.post(
        f"/donations/manage/{project.id}/disbursements",
        data={"amount": "80", "purpose": "x", "_csrf_token": token},
        files={"receipt": ("invoice.png", b"<html>", "image/png")},
        follow_redirects=False,
    )
    assert fake.status_code == 422
    manage = await client.get(f"/donations/manage/{project.id}")
    assert "another member must approve" in manage.text.lower() or "另一位成员" in manage.text
    from backend.donations.models import Disbursement

    async with runtime.sessionmaker() as session:
        request = (
            await session.scalars(select(Disbursement).where(Disbursement.project_id == project.id))
        ).one()
    assert (
        await post_form(
            client, f"/donations/disbursements/{request.id}/decide", {"decision": "approve"}
        )
    ).status_code == 403
    await sign_in_as(client, runtime, demo["org_admin"])
    assert (
        await post_form(
            client,
            f"/donations/disbursements/{request.id}/decide",
            {"decision": "approve"},
            follow_redirects=False,
        )
    ).status_code == 303
    receipt = await client.get(f"/donations/disbursements/{request.id}/receipt")
    assert receipt.status_code == 200
    assert receipt.content != png
    assert receipt.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(receipt.content)) as served:
        assert not served.getexif(), "EXIF (GPS, camera) must be stripped"
        assert "exif" not in served.info
    assert b"CanaryCam" not in receipt.content and b"GPS" not in receipt.content
    ledger = await client.get(f"/projects/{project.id}/ledger")
    assert "采购防水材料" in ledger.text
    assert "¥120.00" in ledger.text
    async with runtime.sessionmaker() as session:
        assert (await session.get(Donation, pledge.id)).state == DonationState.PAID  # type: ignore[union-attr]
