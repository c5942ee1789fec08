"""The whole story in a real browser (Chromium via Playwright, against ``live_server``):

a caseworker publishes a need → organization A claims it → records a delivery with a photo →
the household confirms at the door with its code and PIN → rates it on its self-service page →
the delivery is on that page and in its quarterly PDF (text extracted with pypdf).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "fulfilment"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
PHONE = {"width": 390, "height": 844}
MARKER = f"TX-{uuid.uuid4().hex[:8].upper()}"


def _run(database_url: str, fn: Any) -> Any:
    """Run an async helper against the test database from this synchronous test."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from backend.core.db import make_engine

    async def go() -> Any:
        engine = make_engine(database_url, pool_size=2)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                result = await fn(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the test already runs an event loop
        return pool.submit(asyncio.run, go()).result()


async def _draft_needs(session: Any) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    from sqlalchemy import select, text

    from backend.households.enums import ConsentPurpose
    from backend.households.models import Consent, Household
    from backend.households.service import today_local
    from backend.needs.models import Need, NeedState

    rows = (
        await session.execute(
            select(Need.id, Need.household_id, Need.quantity)
            .join(Household, Household.id == Need.household_id)
            .join(Consent, Consent.household_id == Household.id)
            .where(
                Need.state == NeedState.DRAFT,
                Need.region_code.like("330106%"),
                Need.quantity.is_not(None),
                Household.verified_until >= today_local(),
                Consent.purpose == ConsentPurpose.PUBLISH_NEEDS,
                Consent.withdrawn_at.is_(None),
                Consent.guardian_consent.is_(True) | text("NOT ('minor' = ANY (households.flags))"),
            )
            .order_by(Household.member_ages)
            .limit(20)
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _issue_code(
    database_url: str, caseworker_id: uuid.UUID, household_id: uuid.UUID
) -> tuple[str, str]:
    async def go(session: Any) -> tuple[str, str]:
        from backend.accounts.service import load_current_user
        from backend.households.service import issue_code

        user = await load_current_user(session, caseworker_id)
        assert user is not None
        from backend.households.code import display

        issued = await issue_code(session, user, household_id)
        return display(issued.code), issued.pin

    result: tuple[str, str] = _run(database_url, go)
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/signin")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form button[type=submit]").click()
    # each role lands on its own start page (backend/web/landing.py)
    page.wait_for_url(lambda url: "/signin" not in url)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_publish_claim_deliver_confirm_rate_and_list(
    browser: Any,
    live_server: str,
    demo_users: dict[str, tuple[str, str]],
    demo: dict[str, Any],
    database_url: str,
) -> None:
    from playwright.sync_api import expect
    from pypdf import PdfReader

    from backend.fulfilment.service import quarter_of, today_local

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    candidates = _run(database_url, _draft_needs)
    headers = {"Accept-Language": "zh-CN,zh;q=0.9"}

    # 1. The caseworker publishes the need.
    staff = browser.new_context(viewport=PHONE, extra_http_headers=headers)
    page = staff.new_page()
    _sign_in(page, live_server, *demo_users["caseworker"])
    published = None
    for need_id, household_id, quantity in candidates:  # k-anonymity may hold back a rare profile
        page.goto(f"{live_server}/households/needs/{need_id}")
        page.locator("#publish").click()
        if re.search("待认领|Open", page.locator("#need-state").inner_text()):
            published = (need_id, household_id, quantity)
            break
    assert published is not None, "no draft need of 西湖区 could be published"
    need_id, household_id, quantity = published
    page.screenshot(path=str(ARTIFACTS / "need-published.png"), full_page=True)
    staff.close()

    # 2. Organization A claims it (JSON API, with the browser's session and CSRF token).
    org = browser.new_context(viewport=PHONE, extra_http_headers=headers)
    page = org.new_page()
    _sign_in(page, live_server, *demo_users["org_member"])
    csrf = next(c["value"] for c in org.cookies() if c["name"] == "tx_csrf")
    response = page.request.post(
        f"{live_server}/api/v1/claims",
        headers={"x-csrftoken": csrf},
        data={"need_id": str(need_id), "organization_id": str(demo["org:charity"])},
    )
    assert response.status == 201, response.text()
    claim_id = response.json()["id"]

    # 3. It records the delivery with a photo.
    page.goto(f"{live_server}/claims/{claim_id}/deliveries/new")
    page.locator("#f-description").fill(f"爱心棉被 {MARKER}")
    page.locator("#f-quantity").fill(str(quantity))
    page.locator("#f-volunteer_hours").fill("2")
    page.locator("#f-photos").set_input_files(
        files=[{"name": "door.png", "mimeType": "image/png", "buffer": _png()}]
    )
    page.locator("#record-delivery").click()
    expect(page.locator("#delivery-state")).to_have_text(re.compile("待确认|Awaiting confirmation"))
    delivery_url = page.url.split("?")[0]
    photo = page.locator(".photos img").first
    expect(photo).to_be_visible()
    served = page.request.get(live_server + (photo.get_attribute("src") or ""))
    assert served.status == 200, served.status
    from PIL import Image

    with Image.open(io.BytesIO(served.body())) as image:
        assert image.size == (320, 240)
    page.screenshot(path=str(ARTIFACTS / "delivery-recorded.png"), full_page=True)

    # 4. At the door: the volunteer types the household's code on the confirm screen; the
    # household types its PIN. (Scanning the QR: tests/fulfilment/test_door_confirmation_browser.py)
    token, pin = _issue_code(database_url, demo["caseworker"], household_id)
    page.goto(f"{delivery_url}/confirm")
    page.locator("#f-code").fill(token.lower().replace("-", " "))
    page.locator("#f-pin").fill("000000" if pin != "000000" else "111111")
    page.locator("#confirm").click()
    expect(page.locator("[role=alert]")).to_be_visible()
    page.locator("#f-pin").fill(pin)
    page.locator("#confirm").click()
    expect(page.locator("#delivery-state")).to_have_text(re.compile("已确认|Confirmed"))
    assert page.url.startswith(delivery_url)
    page.screenshot(path=str(ARTIFACTS / "delivery-confirmed.png"), full_page=True)
    # the photo is not served to someone outside the organization and region
    outsider = browser.new_context(extra_http_headers=headers)
    src = photo.get_attribute("src")
    assert outsider.request.get(live_server + src, max_redirects=0).status in {302, 303}
    org.close()

    # 5. The household opens its own list with code and PIN and rates the delivery.
    home = browser.new_context(viewport=PHONE, extra_http_headers=headers)
    page = home.new_page()
    page.goto(f"{live_server}/my")
    page.locator("#f-code").fill(token)
    page.locator("#f-pin").fill(pin)
    page.locator("#open-list").click()
    item = page.locator(".timeline-item", has_text=MARKER)
    expect(item).to_be_visible()
    item.locator("summary").click()
    item.locator("textarea[name=comment]").fill("送到家里，很及时")
    item.locator("button.star[value='5']").click()  # one tap rates (the comment rides along)
    expect(page.locator("[role=status]").first).to_contain_text(re.compile("谢谢|Thank you"))
    expect(page.locator(".timeline-item", has_text=MARKER).locator(".stars")).to_have_text("★★★★★")
    page.screenshot(path=str(ARTIFACTS / "self-service.png"), full_page=True)

    # 6. …and in this quarter's 幸福清单 PDF.
    pdf = page.request.get(f"{live_server}/my/lists/{quarter_of(today_local())}")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert MARKER in text
    assert "幸福清单" in text
    assert "Happiness List" in text
    home.close()
