"""In a real browser: a caseworker registers a household, drafts a need quoting a phone number,
sees the block with the span marked, fixes it and publishes; an anonymous visitor then finds
the need and sees no personal data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest

from backend.privacy.idcard import make_fake_id

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_register_draft_block_fix_publish_browse(
    browser: object, live_server: str, demo_users: dict[str, tuple[str, str]]
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    tag = uuid4().hex[:4]
    name = f"钱{'一二三四'[int(tag, 16) % 4]}芳"
    id_number = make_fake_id("330106", date(1961, 4, 2), int(tag, 16) % 1000)
    phone = "13705712468"
    title = f"需要一台冬季电暖器 {tag}"
    email, password = demo_users["caseworker"]
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = ctx.new_page()
    try:
        page.goto(live_server + "/signin?next=/households/new")
        page.fill("#f-email", email)
        page.fill("#f-password", password)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url("**/households/new")
        page.fill("#f-head_name", name)
        page.fill("#f-id_number", id_number[:6] + " " + id_number[6:14] + " " + id_number[14:])
        page.fill("#f-phone", phone)
        page.fill("#f-address", "浙江省杭州市西湖区西溪街道文二路88号")
        page.select_option("#f-region_code", "330106004")
        page.select_option("#f-category", "dibao")
        page.fill("#f-member_ages", "63, 60")
        page.locator("form.card button[type=submit]").click()
        page.wait_for_url("**/households/*?saved=registered")
        expect(page.locator("#personal")).to_contain_text("137****2468")
        household_url = page.url.split("?")[0]
        # verification and consent
        page.fill("#f-basis", "入户核查")
        page.locator("#verify button[type=submit]").click()
        page.wait_for_url("**saved=verified")
        page.locator("#consent form:not(.inline) button[type=submit]").click()
        page.wait_for_url("**saved=consent")
        # draft with a phone number in the public text
        page.goto(household_url + "/needs/new")
        page.select_option("#f-category", "goods")
        page.fill("#f-title", title)
        page.fill("#f-body", "家里冬天很冷，有事请打 137 0571 2468 联系。")
        page.fill("#f-quantity", "1")
        page.select_option("#f-urgency", "emergency")
        page.locator("form.card button[type=submit]").click()
        page.wait_for_url("**saved=draft")
        page.locator("#publish").click()
        mark = page.locator("#blocked mark.pii")
        expect(mark).to_have_count(1)
        expect(mark).to_have_text("137 0571 2468")
        page.screenshot(path=str(ARTIFACTS / "households-publish-blocked.png"), full_page=True)
        # the blocked draft keeps the typed text; fix it and publish straight from the form:
        # the edit is what gets published, not the draft saved before it
        expect(page.locator("#f-body")).to_have_value("家里冬天很冷，有事请打 137 0571 2468 联系。")
        page.fill("#f-body", "家里冬天很冷，希望有一台电暖器。")
        page.locator("#publish").click()
        page.wait_for_url("**saved=published")
        # A published need is open for claims: 待认领 (docs/glossary.md).
        expect(page.locator("#need-state")).to_have_text("待认领")
    finally:
        ctx.close()

    anon = browser.new_context(
        viewport={"width": 1280, "height": 900}, extra_http_headers={"Accept-Language": "zh-CN"}
    )
    page = anon.new_page()
    try:
        page.goto(live_server + "/needs?category=goods&urgency=emergency")
        link = page.get_by_role("link", name=title)
        expect(link).to_be_visible()
        link.click()
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator("body")).to_contain_text("希望有一台电暖器")
        content = page.content()
        for secret in (name, id_number, phone, "137 0571 2468", "文二路", "2468"):
            assert secret not in content
        page.screenshot(path=str(ARTIFACTS / "needs-public-detail.png"), full_page=True)
    finally:
        anon.close()
