"""In a real browser: an organization posts a resource, claims a need with it, and a volunteer
signs up for a task slot (Debian's Chromium through Playwright, against ``live_server``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_browser_shell import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, PHONE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def _sign_in(page: Any, base: str, email: str, password: str, target: str) -> None:
    page.goto(f"{base}/signin?next={target}")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form button[type=submit]").click()


def test_resource_claim_and_signup(
    browser: Any, live_server: str, demo_users: dict[str, tuple[str, str]], demo: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    org = demo["org:charity"]
    # a walker: the claim form offers only resources of the need's item kind (助行器)
    title = f"浏览器测试助行器 {uuid.uuid4().hex[:6]}"
    context = browser.new_context(
        viewport=PHONE, extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # 1. The organization's member posts a resource.
        email, password = demo_users["org_member"]
        _sign_in(page, live_server, email, password, f"/org/{org}/resources/new")
        expect(page).to_have_url(f"{live_server}/org/{org}/resources/new")
        page.locator("#f-title").fill(title)
        page.locator("#f-category").select_option("goods")
        page.locator("#f-capacity").fill("10")
        page.locator("#f-unit").fill("台")
        page.locator("#f-service_area").select_option(["330106"])
        page.get_by_role("button", name="发布资源").click()
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator("main")).to_contain_text("资源已发布")
        page.screenshot(path=str(ARTIFACTS / "supply-resource.png"), full_page=True)

        # 2. It claims a published demo need (老人助行器一台) with the new resource.
        page.locator("main a", has_text="查找可认领的需求").click()
        card = page.locator("article.tx-item", has_text="老人助行器一台")
        for _ in range(30):  # other tests add needs too: page on until the demo need shows
            if card.count():
                break
            page.locator("a[rel=next]").first.click()
            page.wait_for_load_state()
        card.locator("a", has_text="认领").click()
        expect(page.locator("h1")).to_have_text("认领需求")
        page.locator("#f-resource_id").select_option(label=f"{title} — 共 10 台，剩余 10 台")
        page.get_by_role("button", name="认领这个需求").click()
        expect(page.locator("main")).to_contain_text("您已认领这个需求")
        expect(page.locator("main")).to_contain_text(title)
        page.screenshot(path=str(ARTIFACTS / "supply-claim.png"), full_page=True)

        # 3. A volunteer signs up for a slot of the demo visit task.
        page.locator("header form[action='/signout'] button").click()
        email, password = demo_users["volunteer"]
        _sign_in(page, live_server, email, password, f"/tasks/{demo['task:visit']}")
        expect(page.locator("h1")).to_have_text("独居老人冬季探访")
        page.locator("li.slot").first.get_by_role("button", name="报名").click()
        expect(page.locator("main")).to_contain_text("报名成功")
        expect(page.locator("li.slot").first).to_contain_text("已报名")
        page.screenshot(path=str(ARTIFACTS / "supply-signup.png"), full_page=True)
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failed-supply.png"), full_page=True)
        raise
    finally:
        context.close()
