"""The auditor's workspace in a real browser: the auditor lands on /audit after signing in,
every link on the page leads somewhere (no 403/404), the chain is verified from the page, the
log is filtered, and nothing is wider than a phone. Screenshots (390×844 and 1280×800, both
languages) go to a temporary folder printed by the test."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-auditor-shots-"))
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), f"{name}: wider than the screen ({SHOTS})"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_auditor_workspace(
    browser: Any, live_server: str, demo_users: dict[str, tuple[str, str]], lang: str, size: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN" if lang == "zh_CN" else "en-US",  # the phone's own date pickers
    )
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": live_server}])
    page = context.new_page()
    try:
        email, password = demo_users["auditor"]
        sign_in(page, live_server, email, password)
        assert page.url.rstrip("/").endswith("/audit"), page.url
        assert page.locator("nav.sections a[href='/audit'][aria-current='page']").count() == 1
        _shot(page, f"log-{lang}-{size}")

        # every link on the workspace leads somewhere the auditor may go
        hrefs = {
            href
            for href in page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            if href and href.startswith("/") and not href.startswith("//")
        }
        assert {"/audit/reports/access", "/audit/reports/overrides"} <= hrefs
        for href in sorted(hrefs):
            response = context.request.get(urljoin(live_server, href))
            assert response.status < 400, (href, response.status)

        # verify the chain from the page (htmx continues until the verdict is in)
        page.locator(".audit-verify-form button[type=submit]").click()
        page.wait_for_selector("#verify-ok, #verify-broken", timeout=60_000)
        assert page.locator("#verify-ok").count() == 1, page.inner_text("#verify-result")
        _shot(page, f"verified-{lang}-{size}")

        # filter the log: only sign-ins
        if page.locator("details.audit-filters[open]").count() == 0:
            page.locator("details.audit-filters summary").click()
        page.locator("#f-action").select_option("user.signed_in")
        page.locator("#audit-filter button[type=submit]").click()
        page.wait_for_url(lambda url: "action=user.signed_in" in url)
        actions = page.locator(".audit-entry .audit-action").all_inner_texts()
        assert actions, "the auditor's own sign-in is in the log"
        expected = "用户账号：已登录" if lang == "zh_CN" else "User account: signed in"
        assert set(actions) == {expected}
        _shot(page, f"filtered-{lang}-{size}")

        for report in ("access", "overrides", "disbursements"):
            page.goto(f"{live_server}/audit/reports/{report}")
            assert page.locator("h1").count() == 1
            _shot(page, f"report-{report}-{lang}-{size}")
    finally:
        context.close()
    print(f"screenshots: {SHOTS}")
