"""The caseworker's workspace in a real browser: sign-in lands on the start page, every link on
it opens (no 404/403), and the registry finds a household by ID number and by part of the
name. Screenshots (390×844 and 1280×800, Chinese and English) go to a folder printed on failure.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in
from tests.households.factories import fake_id

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-workspace-shots-"))
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _page(browser: Any, base: str, lang: str, size: str) -> Any:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": base}])
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), f"{name}: wider than the screen ({SHOTS})"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_caseworker_lands_on_the_start_page_and_every_link_opens(
    browser: Any,
    live_server: str,
    demo_users: dict[str, tuple[str, str]],
    lang: str,
    size: str,
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, live_server, lang, size)
    email, password = demo_users["caseworker"]
    sign_in(page, live_server, email, password)
    assert urlsplit(page.url).path == "/work", page.url
    expect(page.locator("h1")).to_have_text("我的工作台" if lang == "zh_CN" else "My work")
    expect(page.locator("nav.sections a[href='/work']")).to_have_attribute("aria-current", "page")
    assert page.locator(".work-card").count() == 11
    _shot(page, f"start-{size}-{lang}")

    hrefs = page.eval_on_selector_all(
        "header a[href], main a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    targets = sorted(
        {
            urljoin(live_server + "/work", h)
            for h in hrefs
            if not h.startswith("#")
            and urlsplit(urljoin(live_server, h)).netloc == urlsplit(live_server).netloc
        }
    )
    assert len(targets) >= 15
    broken = []
    for url in targets:
        response = page.request.get(url)
        if response.status >= 400:
            broken.append(f"{response.status} {url}")
    assert not broken, broken
    page.context.close()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_caseworker_finds_a_household_by_id_number_and_by_name(
    browser: Any, live_server: str, demo_users: dict[str, tuple[str, str]], lang: str
) -> None:
    from playwright.sync_api import expect

    rng = random.SystemRandom()
    given = "".join(rng.sample("晓春秋冬梅兰竹菊霞云", 2))
    name = "端木" + given
    id_number = fake_id("330106")
    page = _page(browser, live_server, lang, "phone")
    email, password = demo_users["caseworker"]
    sign_in(page, live_server, email, password)

    page.goto(live_server + "/households/new")
    page.locator("#f-head_name").fill(name)
    page.locator("#f-id_number").fill(id_number)
    page.locator("#f-phone").fill(f"139{rng.randint(10_000_000, 99_999_999)}")
    page.locator("#f-region_code").select_option("330106004")
    page.locator("#f-category").select_option("dibao")
    page.locator("#f-member_ages").fill("52, 50")
    page.locator("form button.form-submit").click()
    page.wait_for_url(lambda url: "saved=registered" in url)
    household_path = urlsplit(page.url).path

    # from the start page's search box, by the ID number typed with spaces
    page.goto(live_server + "/work")
    spaced = f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}"
    page.locator("#f-q").fill(spaced)
    page.locator("form.registry-search button[type=submit]").click()
    page.wait_for_url(lambda url: url.endswith("/households/search"))
    assert id_number[6:14] not in page.url  # what was typed never enters a URL
    rows = page.locator("#household-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(f"a[href='{household_path}']")).to_have_count(1)
    masked = rows.first.locator("td").first.inner_text()
    assert name not in masked and masked.startswith("端")  # still masked
    assert id_number not in page.content()
    _shot(page, f"search-id-phone-{lang}")

    # by two characters of the given name (no surname)
    page.locator("#f-q").fill(given)
    page.locator("form.registry-search button[type=submit]").click()
    expect(page.locator(f"#household-list a[href='{household_path}']")).to_have_count(1)
    expect(page.locator("#household-list .count")).to_contain_text(
        "按姓名查找" if lang == "zh_CN" else "Found by name"
    )

    # one character is refused next to the form, with the reason
    page.locator("#f-q").fill(given[0])
    page.locator("form.registry-search button[type=submit]").click()
    expect(page.locator("#household-list .notice-error")).to_be_visible()
    page.context.close()

    desktop = _page(browser, live_server, lang, "desktop")
    sign_in(desktop, live_server, email, password)
    desktop.goto(f"{live_server}/households")
    desktop.locator("#f-q").fill(given)
    desktop.locator("form.registry-search button[type=submit]").click()
    expect(desktop.locator("#household-list .count")).to_contain_text(
        "按姓名查找" if lang == "zh_CN" else "Found by name"
    )
    expect(desktop.locator(f"#household-list a[href='{household_path}']")).to_have_count(1)
    _shot(desktop, f"search-name-desktop-{lang}")
    desktop.context.close()
