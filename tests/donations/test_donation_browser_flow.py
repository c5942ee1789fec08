"""A donation that can be finished, on a phone (390×844), in a real browser: the donor pledges
and sees the organization's checked bank account with the reference and copy buttons, the
organization confirms receipt, the public ledger shows it; a donor cancels an unpaid pledge;
an executing project shows no donate button but says why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def _context(browser: Any, base: str, *, lang: str = "zh_CN", viewport: Any = PHONE) -> Any:
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": base}])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    return context


def _sign_out(page: Any) -> None:
    page.locator("header form[action='/signout'] button").click()


def _pledge(page: Any, base: str, project_id: Any, amount: str) -> str:
    """Pledge ``amount`` yuan by bank transfer; returns the pledge page's URL."""
    from playwright.sync_api import expect

    page.goto(f"{base}/projects/{project_id}/donate")
    page.locator("#f-custom_amount").fill(amount)
    expect(page.locator("input[name=channel][value=offline]")).to_be_checked()
    page.locator("form button.form-submit").click()
    page.wait_for_url(re.compile(r"/donations/[0-9a-f-]{36}\?new=1$"))
    return str(page.url)


def test_pledge_bank_details_confirm_ledger_cancel_and_reason(
    browser: Any, live_server: str, demo: dict[str, Any], demo_users: dict[str, tuple[str, str]]
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    project_id = demo["project:warm_nest"]
    context = _context(browser, live_server)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of confirm buttons
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # 1. The donor pledges ¥88.80 and is shown where to transfer it.
        sign_in(page, live_server, *demo_users["donor"])
        _pledge(page, live_server, project_id, "88.8")
        transfer = page.locator("#transfer")
        expect(transfer).to_contain_text("杭州市西湖区慈善总会")
        expect(transfer).to_contain_text("中国工商银行杭州西湖支行")
        expect(transfer).to_contain_text("6222 0202 0011 2233 445")
        expect(transfer).to_contain_text("¥88.80")
        code = page.locator("#reference").inner_text().strip()
        assert re.fullmatch(r"TX-[0-9A-F]{8}", code), code
        # The copy buttons appear with JavaScript and copy the value itself (digits only).
        copy_number = page.locator("button[data-copy='#account-number']")
        expect(copy_number).to_be_visible()
        copy_number.click()
        expect(page.locator("#account-number-status")).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()") == "6222020200112233445"
        page.locator("button[data-copy='#reference']").click()
        expect(page.locator("#reference-status")).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()") == code
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "donate-pledge-zh-390.png"), full_page=True)

        # 2. A second pledge, cancelled by the donor before anything was transferred.
        second = _pledge(page, live_server, project_id, "10")
        page.locator("form[action$='/cancel-pledge'] button").click()
        page.wait_for_url(re.compile(r"\?cancelled=1$"))
        expect(page.locator("main")).to_contain_text("认捐已取消")
        expect(page.locator("#donation-status")).to_contain_text("已取消")
        expect(page.locator("#transfer")).to_have_count(0)
        assert second.split("?")[0] in page.url
        page.screenshot(path=str(ARTIFACTS / "donate-cancelled-zh-390.png"), full_page=True)
        _sign_out(page)

        # 3. The charity's administrator confirms the first transfer arrived.
        sign_in(page, live_server, *demo_users["org_admin"])
        page.goto(f"{live_server}/donations/manage/{project_id}")
        row = page.locator("li", has_text=code)
        row.locator("input[name=reference]").fill("ICBC-20261201-0088")
        row.locator("button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("转账已确认并记入账本")
        expect(page.locator("li", has_text=code)).to_have_count(0)
        _sign_out(page)

        # 4. Anyone sees it on the public ledger, reached from the project page.
        page.goto(f"{live_server}/projects/{project_id}")
        page.locator("#ledger-link").click()
        page.wait_for_url(re.compile(r"/ledger$"))
        expect(page.locator("#ledger-entries tr", has_text="¥88.80")).to_contain_text("周捐赠")
        assert no_horizontal_scroll(page)

        # 5. An executing project: no donate button, the reason instead, and its ledger.
        page.goto(f"{live_server}/projects/{demo['project:nest']}")
        expect(page.locator("#donate")).to_have_count(0)
        expect(page.locator("#donate-blocked")).to_contain_text("正在实施")
        expect(page.locator("#ledger-link")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "donate-executing-zh-390.png"), full_page=True)
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "donate-flow-failed.png"), full_page=True)
        (ARTIFACTS / "donate-flow-failed.html").write_text(page.content(), encoding="utf-8")
        raise
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "viewport"), [("en", PHONE), ("en", DESKTOP), ("zh_CN", DESKTOP)])
def test_pledge_page_other_sizes_and_english(
    browser: Any,
    live_server: str,
    demo: dict[str, Any],
    demo_users: dict[str, tuple[str, str]],
    lang: str,
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    context = _context(browser, live_server, lang=lang, viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, live_server, *demo_users["donor"])
        _pledge(page, live_server, demo["project:warm_nest"], "20")
        expect(page.locator("#transfer")).to_contain_text("6222 0202 0011 2233 445")
        if lang == "en":
            expect(page.locator("#transfer")).to_contain_text("Reference for the transfer note")
            expect(page.locator("button[data-copy='#reference']")).to_have_text("Copy")
        assert no_horizontal_scroll(page)
        name = f"donate-pledge-{lang}-{viewport['width']}.png"
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "viewport"), [("zh_CN", PHONE), ("en", DESKTOP)])
def test_changed_pages_fit_the_screen(
    browser: Any,
    live_server: str,
    demo: dict[str, Any],
    demo_users: dict[str, tuple[str, str]],
    lang: str,
    viewport: dict[str, int],
) -> None:
    """The other pages this work changed, as their users see them: no horizontal scroll."""
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    size = f"{lang}-{viewport['width']}"
    context = _context(browser, live_server, lang=lang, viewport=viewport)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/organizations/ranking")
        expect(page.locator("#formula")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"donate-ranking-{size}.png"), full_page=True)

        sign_in(page, live_server, *demo_users["org_admin"])
        page.goto(f"{live_server}/projects/{demo['project:nest']}")
        expect(page.locator("#f-need-q")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"donate-project-member-{size}.png"), full_page=True)
        page.goto(f"{live_server}/org/{demo['org:charity']}/bank-account")
        expect(page.locator("#bank-state")).to_be_visible()
        expect(page.locator("main")).to_contain_text("•••• 3445")
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"donate-bank-account-{size}.png"), full_page=True)
        _sign_out(page)

        sign_in(page, live_server, *demo_users["admin"])
        page.goto(f"{live_server}/admin/organizations/bank-accounts")
        expect(page.locator("h1")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"donate-bank-review-{size}.png"), full_page=True)
        _sign_out(page)

        sign_in(page, live_server, *demo_users["donor"])
        page.goto(f"{live_server}/projects/{demo['project:warm_nest']}/donate")
        expect(page.locator("input[name=channel][value=offline]")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"donate-form-{size}.png"), full_page=True)
    finally:
        context.close()
