"""The coordinator dashboard in a real browser: the coordinator lands on it after signing in,
every chart is drawn under the strict CSP, each table opens behind "show data", every link on
the page answers (no 403/404, CSV downloads with a BOM), a county can be chosen, and a phone
never scrolls sideways. Screenshots (phone and desktop, both languages) go to a temporary
folder printed by the test."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-dashboard-shots-"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _watch(page: Any, base: str) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on(
        "request",
        lambda req: (
            problems.append("third-party request: " + req.url)
            if not req.url.startswith((base, "data:", "blob:"))
            else None
        ),
    )
    return problems


def _charts_drawn(page: Any) -> int:
    from playwright.sync_api import expect

    charts = page.locator("[data-chart]")
    count = int(charts.count())
    assert page.locator(".dash-chart").count() == 11  # drawn, or "nothing yet" when all zero
    assert count >= 4, f"only {count} charts drawn on the dashboard"
    expect(page.locator("[data-chart][data-drawn=true]")).to_have_count(count)
    assert page.locator("[data-chart] canvas").count() >= count
    return count


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_coordinator_lands_on_the_dashboard(
    browser: Any, live_server: str, demo_users: dict[str, tuple[str, str]], lang: str
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE)
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": live_server}])
    page = context.new_page()
    problems = _watch(page, live_server)
    try:
        sign_in(page, live_server, *demo_users["coordinator"])
        page.wait_for_load_state("load")
        assert page.url.rstrip("/").endswith("/coordination/dashboard"), page.url
        expect(page.locator("h1")).to_have_text(
            "协调员工作台" if lang == "zh_CN" else "Coordinator dashboard"
        )
        _charts_drawn(page)
        page.screenshot(path=str(SHOTS / f"dashboard-phone-{lang}.png"), full_page=True)
        assert no_horizontal_scroll(page), f"wider than the phone ({SHOTS})"

        # the data table of a chart opens and closes
        first = page.locator("details.dash-data").first
        table = first.locator("table")
        expect(table).to_be_hidden()
        first.locator("summary").click()
        expect(table).to_be_visible()
        assert table.locator("tbody tr").count() >= 1
        assert no_horizontal_scroll(page), "an open table widens the phone page"
        first.locator("summary").click()
        expect(table).to_be_hidden()

        # every link of the page answers, CSV downloads included
        hrefs = set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"))
        checked = 0
        for href in sorted(hrefs):
            if not href.startswith(live_server) or "#" in href:
                continue
            response = context.request.get(href, max_redirects=0)
            assert response.status < 400, f"{href}: {response.status}"
            if "/csv/" in href:
                assert response.headers["content-type"].startswith("text/csv")
                assert response.body().startswith(b"\xef\xbb\xbf")
            checked += 1
        assert checked >= 15
        assert sum("/coordination/dashboard/csv/" in h for h in hrefs) == 11

        # one county of the area
        page.locator("#dash-county").select_option(value="330106")  # 西湖区, the demo county
        page.locator("form.dash-area button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/coordination/dashboard/?\?county=\d+$"))
        _charts_drawn(page)
        csv_link = page.locator(".dash-csv a").first.get_attribute("href") or ""
        assert "county=" in csv_link
        assert context.request.get(urljoin(live_server, csv_link)).status == 200

        desktop = context.new_page()
        desktop.set_viewport_size(DESKTOP)
        problems += _watch(desktop, live_server)
        desktop.goto(live_server + "/coordination/dashboard")
        _charts_drawn(desktop)
        desktop.screenshot(path=str(SHOTS / f"dashboard-desktop-{lang}.png"), full_page=True)
        assert no_horizontal_scroll(desktop)
        assert not problems, problems
    finally:
        context.close()
    print("dashboard screenshots:", SHOTS)
