"""Issue 20 on a real phone-sized browser: the search page is a normal search box and Back
restores its filters; tables turn into cards on a phone and stay tables on a desktop; a form
error shows next to its field with what was typed still there.

Screenshots (390×844 and 1280×800, both languages) go to a temporary folder printed on failure.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.demo.accounts import DEMO_PASSWORD
from backend.privacy.idcard import make_fake_id
from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-forms-shots-"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CASEWORKER = "caseworker@demo.tongxin.cn"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
async def indexed(runtime: Any, demo: dict[str, Any]) -> None:
    """The demo rows are written directly (no outbox events): index them, as `tongxin run`
    does after loading the demo data. The live server reads the same index directory.
    Module-scoped and named before `browser`: an async fixture cannot start once Playwright's
    synchronous driver runs."""
    from backend.search.provider import engine_of
    from backend.search.service import rebuild

    async with runtime.transaction() as session:
        await rebuild(session, engine_of(runtime.services))


def _context(browser: Any, base: str, lang: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": base}])
    return context


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), f"{name}: wider than the screen ({SHOTS})"


def _width(page: Any, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return float(box["width"])


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_search_is_a_search_box_and_back_restores_the_filters(
    indexed: None, browser: Any, live_server: str, lang: str
) -> None:
    context = _context(browser, live_server, lang, PHONE)
    page = context.new_page()
    try:
        page.goto(live_server + "/search")
        assert _width(page, "#search-q") > 200
        assert _width(page, "#search-body") > 300  # the results use the width of the phone
        _shot(page, f"search-empty-{lang}")

        page.locator("#search-q").fill("米")
        page.wait_for_url(re.compile(r"q=%E7%B1%B3"))
        page.locator("#results-title", has_text="米").wait_for()
        # leaving the box fires its change (one more update): let it land before going on
        page.locator("#search-q").blur()
        page.wait_for_load_state("networkidle")
        hits = page.locator(".hit")
        first = hits.first
        assert first.locator(".hit-facts").inner_text().strip()  # region, deadline or amount
        # open the filters (folded on a phone after results update) and pick a category
        filters = page.locator("#search-filters")
        if filters.get_attribute("open") is None:
            filters.locator("summary").click()
        box = page.locator("fieldset.facet input[name=category]").first
        value = box.get_attribute("value")
        box.check()
        page.wait_for_url(re.compile(r"category=" + re.escape(str(value))))
        page.locator(".hit").first.wait_for()
        _shot(page, f"search-filtered-{lang}")

        # to a result and back: the keyword and the filter are still set
        page.locator(".hit h3 a").first.click()
        page.wait_for_url(lambda url: "/search" not in url)
        page.go_back()
        page.wait_for_url(re.compile(r"/search\?.*category="))
        assert page.locator("#search-q").input_value() == "米"
        assert page.locator(f"fieldset.facet input[name=category][value='{value}']").is_checked()

        # back once more (htmx history): the keyword stays, the filter is off again
        page.go_back()
        page.wait_for_url(lambda url: "category=" not in url and "q=" in url)
        assert page.locator("#search-q").input_value() == "米"
        assert not page.locator(
            f"fieldset.facet input[name=category][value='{value}']"
        ).is_checked()
        assert no_horizontal_scroll(page)
    finally:
        context.close()


def _row_display(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).display"))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_ledger_and_household_list_are_cards_on_a_phone(
    browser: Any, live_server: str, demo: dict[str, Any], lang: str
) -> None:
    ledger = f"{live_server}/projects/{demo['project:warm_nest']}/ledger"
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = _context(browser, live_server, lang, viewport)
        page = context.new_page()
        try:
            page.goto(ledger)
            page.locator("table.cards tbody tr").first.wait_for()
            _shot(page, f"ledger-{name}-{lang}")
            row = "table.cards tbody tr"
            if name == "phone":
                assert _row_display(page, row) == "grid"
                cell = page.locator("table.cards tbody tr td[data-label]").first
                label = cell.evaluate("el => getComputedStyle(el, '::before').content")
                assert label.strip('"') == cell.get_attribute("data-label")
            else:
                assert _row_display(page, row) == "table-row"

            sign_in(page, live_server, CASEWORKER, DEMO_PASSWORD)
            page.goto(live_server + "/households")
            page.locator("table.cards tbody tr").first.wait_for()
            _shot(page, f"households-{name}-{lang}")
            assert _row_display(page, row) == ("grid" if name == "phone" else "table-row")
        finally:
            context.close()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_form_errors_next_to_the_field_keep_what_was_typed(
    browser: Any, live_server: str, demo: dict[str, Any], lang: str
) -> None:
    context = _context(browser, live_server, lang, PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, CASEWORKER, DEMO_PASSWORD)
        page.goto(f"{live_server}/fulfilment/households/{demo['demo_household']}")
        past = (date.today() - timedelta(days=5)).isoformat()
        page.fill("#f-interval_days", "45")
        page.fill("#f-next_due", past)
        page.locator("form[action$='/schedule'] button[type=submit]").click()
        page.locator("#f-next_due-error").wait_for()
        assert page.locator("#f-next_due").get_attribute("aria-invalid") == "true"
        described = page.locator("#f-next_due").get_attribute("aria-describedby") or ""
        assert "f-next_due-error" in described.split()
        assert page.locator("#f-interval_days").input_value() == "45"
        assert page.locator("#f-next_due").input_value() == past
        # the message sits right above its field, inside the same field block
        field = page.locator(".field.has-error", has=page.locator("#f-next_due"))
        assert field.locator(".field-error").count() == 1
        _shot(page, f"schedule-error-{lang}")

        valid = make_fake_id("330106", date(1959, 4, 2), 311)
        wrong = valid[:17] + ("5" if valid[17] != "5" else "6")
        page.goto(live_server + "/households/new")
        page.fill("#f-head_name", "测试校验")
        page.fill("#f-id_number", wrong)
        page.select_option("#f-region_code", "330106004")
        page.select_option("#f-category", "dibao")
        page.fill("#f-member_ages", "70")
        page.locator("form.card button[type=submit]").click()
        page.locator("#f-id_number-error").wait_for()
        message = page.locator("#f-id_number-error").inner_text()
        assert ("校验码" in message) if lang == "zh_CN" else ("check character" in message)
        assert page.locator("#f-id_number").input_value() == wrong
        assert page.locator("#f-head_name").input_value() == "测试校验"
        assert page.locator("#f-member_ages").input_value() == "70"
        _shot(page, f"household-id-error-{lang}")
    finally:
        context.close()
