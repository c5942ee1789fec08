"""The fairness page on a phone and a desktop, in both languages: the coordinator sees their
counties' true counts (no "<11"), the explanation in the page's language, no sideways scroll.
Screenshots go to a temporary folder."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-fairness-shots-"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("width", [390, 1280])
def test_fairness_page_shows_true_counts(
    browser: Any, live_server: str, demo_users: dict[str, tuple[str, str]], lang: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 844 if width < 800 else 800})
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": live_server}])
    page = context.new_page()
    try:
        sign_in(page, live_server, *demo_users["coordinator"])
        page.goto(f"{live_server}/coordination/fairness")
        page.screenshot(path=str(SHOTS / f"fairness-{lang}-{width}.png"), full_page=True)
        assert no_horizontal_scroll(page), SHOTS
        body = page.inner_text("main")
        assert "<11" not in page.inner_text("table")
        for code in ("employment", "micro_wish", "companionship"):  # category names, not codes
            assert code not in body
        if lang == "zh_CN":
            assert "您任职的区县显示实际数字" in body
            assert "Counties where" not in body
        else:
            assert "Counties where you are on the staff show their true counts" in body
    finally:
        context.close()
    print(SHOTS)
