"""The strict CSP breaks nothing in a real browser: no violation, htmx still swaps, the
vendored Swagger UI renders the API without internet access."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.test_browser_shell import DESKTOP, browser  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.browser


def _page(browser: Any) -> tuple[Any, Any, list[str]]:  # noqa: F811 - the fixture's value
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on(
        "request",
        lambda req: (
            problems.append("third-party request: " + req.url)
            if not req.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else None
        ),
    )
    return context, page, problems


def test_pages_run_under_the_csp(browser: Any, live_server: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, page, problems = _page(browser)
    try:
        for path in ("/", "/needs", "/projects"):
            page.goto(live_server + path)
            assert page.evaluate("typeof window.htmx") == "object"
        page.goto(live_server + "/search")
        page.fill("#search-q", "棉被")
        expect(page).to_have_url(re.compile(r"q=%E6%A3%89|q=棉"), timeout=10_000)
        assert not problems, problems
    finally:
        context.close()


def test_swagger_ui_renders_from_vendored_files(browser: Any, live_server: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, page, problems = _page(browser)
    try:
        page.goto(live_server + "/schema/swagger")
        expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
        assert not problems, problems
    finally:
        context.close()
