"""A report in a real phone-sized browser: an anonymous visitor reports a project and gets a
code, a coordinator acknowledges and resolves it, and the visitor reads the answer by the code.
Screenshots of each page (both languages) go to a temporary folder printed by the test."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-report-shots-"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def fresh_report_limits(redis_url: str) -> None:
    """Anonymous reports from this machine share one address: start with a fresh limit."""
    import redis as redis_sync

    from backend.core.queue import redis_settings

    rs = redis_settings(redis_url)
    client = redis_sync.Redis(
        host=rs.host, port=rs.port, unix_socket_path=rs.unix_socket_path, db=rs.database
    )
    try:
        for key in client.keys("rl:report*"):
            client.delete(key)
    finally:
        client.close()


def _context(browser: Any, base: str, lang: str) -> Any:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": base}])
    return context


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), f"{name}: wider than the phone ({SHOTS})"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_visitor_reports_coordinator_answers(
    browser: Any,
    live_server: str,
    demo: dict[str, Any],
    demo_users: dict[str, tuple[str, str]],
    lang: str,
    fresh_report_limits: None,
) -> None:
    from playwright.sync_api import expect

    project_id = demo["project:warm_nest"]
    visitor = _context(browser, live_server, lang).new_page()
    visitor.goto(f"{live_server}/projects/{project_id}")
    visitor.locator(".report-link a").click()
    expect(visitor.locator("h1")).to_have_text(
        "反映问题" if lang == "zh_CN" else "Report a problem"
    )
    _shot(visitor, f"report-form-{lang}")
    visitor.locator("input[name=type][value=wrong_info]").check()
    visitor.locator("#f-text").fill("项目开始日期写错了，应该是十二月。")
    visitor.locator("form.card button[type=submit]").click()
    code = visitor.locator(".report-code").inner_text().strip()
    assert re.fullmatch(r"R-[0-9A-Z]{5}-[0-9A-Z]{5}", code), code
    _shot(visitor, f"report-received-{lang}")

    coordinator_context = _context(browser, live_server, lang)
    coordinator = coordinator_context.new_page()
    coordinator.on("dialog", lambda dialog: dialog.accept())
    sign_in(coordinator, live_server, *demo_users["coordinator"])
    coordinator.goto(f"{live_server}/reports")
    _shot(coordinator, f"report-queue-{lang}")
    coordinator.get_by_role("link", name=code).click()
    _shot(coordinator, f"report-detail-{lang}")
    coordinator.locator("input[name=stage][value=acknowledged]").check()
    coordinator.locator("#f-reason").fill("已受理，正在核对。")
    coordinator.locator("form[action$='/move'] button[type=submit]").click()
    expect(coordinator.locator(".notice-success")).to_be_visible()
    coordinator.locator("input[name=stage][value=resolved]").check()
    coordinator.locator("#f-reason").fill("与机构核对后更正。")
    coordinator.locator("#f-outcome").fill("已请机构更正开始日期，谢谢您的提醒。")
    coordinator.locator("form[action$='/move'] button[type=submit]").click()
    expect(coordinator.locator(".notice-success")).to_be_visible()
    coordinator.goto(f"{live_server}/reports/figures")
    _shot(coordinator, f"report-figures-{lang}")

    visitor.goto(f"{live_server}/report/track")
    visitor.locator("#f-code").fill(code.lower().replace("-", " "))
    visitor.locator("form.card button[type=submit]").click()
    expect(visitor.locator("main")).to_contain_text("已请机构更正开始日期，谢谢您的提醒。")
    expect(visitor.locator("main")).to_contain_text("已办结" if lang == "zh_CN" else "Resolved")
    _shot(visitor, f"report-answered-{lang}")
    visitor.goto(f"{live_server}/transparency")
    _shot(visitor, f"transparency-{lang}")
    coordinator_context.close()
    print(f"screenshots in {SHOTS}")
