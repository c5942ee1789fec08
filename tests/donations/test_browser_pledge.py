"""The offline pledge in a real browser: the donor pledges, the organization confirms receipt,
and the public ledger shows the donation. Chromium (``/usr/bin/chromium``) via Playwright."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/signin")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form button[type=submit]").click()
    # each role lands on its own start page (backend/web/landing.py)
    page.wait_for_url(lambda url: "/signin" not in url)


def test_offline_pledge_confirmed_and_public(
    browser: Any, live_server: str, demo: dict[str, Any], demo_users: dict[str, tuple[str, str]]
) -> None:
    from playwright.sync_api import expect

    project_id = demo["project:warm_nest"]
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    # The demo users' own locale is zh_CN; the language cookie (the header switch) wins over it.
    context.add_cookies([{"name": "tx_lang", "value": "en", "url": live_server}])
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of confirm buttons
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # The donor pledges ¥123.45 by bank transfer.
        _sign_in(page, live_server, *demo_users["donor"])
        page.goto(f"{live_server}/projects/{project_id}/donate")
        page.get_by_label("Or another amount (yuan)").fill("123.45")
        page.get_by_label("Message to the organization (optional)").fill(
            "Good luck with the renovation"
        )
        expect(page.locator("input[name=channel][value=offline]")).to_be_checked()
        page.get_by_role("button", name="Donate", exact=True).click()
        expect(page.locator("main")).to_contain_text("Your pledge is recorded")
        code = page.locator(".pledge-code").inner_text().strip()
        assert re.fullmatch(r"TX-[0-9A-F]{8}", code), code
        page.screenshot(path=str(ARTIFACTS / "donations-pledged.png"), full_page=True)
        page.locator("header form[action='/signout'] button").click()

        # The charity's administrator confirms the transfer arrived, with the bank reference.
        _sign_in(page, live_server, *demo_users["org_admin"])
        page.goto(f"{live_server}/donations/manage/{project_id}")
        row = page.locator("li", has_text=code)
        row.get_by_label("Transfer reference").fill("ICBC-20261123-0042")
        row.get_by_role("button", name="Confirm the money arrived").click()
        expect(page.locator("main")).to_contain_text(
            "The transfer is confirmed and booked on the ledger."
        )
        expect(page.locator("li", has_text=code)).to_have_count(0)
        page.locator("header form[action='/signout'] button").click()

        # Anyone sees it on the public ledger.
        page.goto(f"{live_server}/projects/{project_id}/ledger")
        entries = page.locator("#ledger-entries")
        expect(entries).to_contain_text("¥123.45")
        expect(entries.locator("tr", has_text="¥123.45")).to_contain_text("周捐赠")
        page.screenshot(path=str(ARTIFACTS / "donations-ledger.png"), full_page=True)
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "donations-failed.png"), full_page=True)
        (ARTIFACTS / "donations-failed.html").write_text(page.content(), encoding="utf-8")
        raise
    finally:
        context.close()
