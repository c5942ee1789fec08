"""In a browser, both languages, phone and desktop: an organization member opens one of its
resources (funds, shown in ¥), edits it from the Manage box (the form shows yuan, not fen), and
sees the change saved. Screenshots go to a temporary folder printed on failure."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in
from tests.needs.test_claim_from_need_browser import _run

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-resource-edit-shots-"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _funds(database_url: str, demo: dict[str, Any]) -> uuid.UUID:
    async def go(session: Any) -> uuid.UUID:
        from backend.accounts.service import load_current_user
        from backend.resources import service

        member = await load_current_user(session, demo["org_member"])
        assert member is not None
        resource = await service.create_resource(
            session,
            member,
            demo["org:charity"],
            kind="funds",
            category="education",
            title=f"助学金 {uuid.uuid4().hex[:6]}",
            capacity=500_050,
            service_area=["330106"],
        )
        return resource.id

    found: uuid.UUID = _run(database_url, go)
    return found


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("viewport", [(390, 844), (1280, 800)])
def test_member_edits_a_funds_resource(
    browser: Any,
    live_server: str,
    database_url: str,
    demo: dict[str, Any],
    demo_users: dict[str, tuple[str, str]],
    lang: str,
    viewport: tuple[int, int],
) -> None:
    from playwright.sync_api import expect

    resource_id = _funds(database_url, demo)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": live_server}])
    page = context.new_page()
    sign_in(page, live_server, *demo_users["org_member"])
    page.goto(f"{live_server}/resources/{resource_id}")
    expect(page.locator("main")).to_contain_text("¥5,000.50")
    name = f"{lang}-{viewport[0]}"
    page.screenshot(path=str(SHOTS / f"resource-{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), SHOTS
    page.locator(f"a[href='/resources/{resource_id}/edit']").click()
    expect(page.locator("#f-capacity")).to_have_value("5000.50")
    page.screenshot(path=str(SHOTS / f"resource-edit-{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), SHOTS
    page.locator("#f-capacity").fill("6000")
    page.locator("form button[type=submit].form-submit").click()
    expect(page.locator("main")).to_contain_text("¥6,000.00")
    expect(page.locator("main")).to_contain_text(
        "资源的修改已保存" if lang == "zh_CN" else "Your changes to the resource are saved."
    )
    page.screenshot(path=str(SHOTS / f"resource-saved-{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), SHOTS
    context.close()
    _close(database_url, resource_id)


def _close(database_url: str, resource_id: uuid.UUID) -> None:
    """Closed afterwards: the charity's public profile shows its six newest active offers."""

    async def go(session: Any) -> None:
        from sqlalchemy import text

        await session.execute(
            text("UPDATE resources SET state = 'closed' WHERE id = :id"), {"id": resource_id}
        )

    _run(database_url, go)
