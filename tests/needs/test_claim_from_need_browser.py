"""In a phone-sized browser (390×844), both languages: an organization member opens a published
need, sees its progress, clicks "help with this", completes the claim, and the need page then
shows the organization's name and the new progress (also to anonymous visitors, whose page is
cached until the claim's event ran). A claim under which something was delivered offers no
放弃认领. Screenshots go to a temporary folder printed on failure."""

from __future__ import annotations

import asyncio
import concurrent.futures
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.mkdtemp(prefix="tongxin-needpage-shots-"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _run(database_url: str, fn: Any) -> Any:
    """Run ``fn(session)`` in a committed transaction of its own (outside the test's loop)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from backend.core.db import make_engine

    async def go() -> Any:
        engine = make_engine(database_url, pool_size=2)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                result = await fn(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _setup(database_url: str, demo: dict[str, Any]) -> dict[str, Any]:
    """An open rice need (100 kg, nothing pledged) and a claimed need with a delivery recorded."""

    async def go(session: Any) -> dict[str, Any]:
        from backend.accounts.service import load_current_user
        from backend.core.storage import LocalStorage
        from backend.demo.organizations import make_household, make_published_need
        from backend.fulfilment import service as fulfilment
        from backend.resources import service as resources

        mark = uuid.uuid4().hex[:6]
        household = await make_household(session, registered_by=demo["caseworker"])
        open_need = await make_published_need(
            session,
            household=household,
            created_by=demo["caseworker"],
            title=f"大米 100 公斤 {mark}",
            quantity=100,
            unit="kg",
        )
        other = await make_household(session, registered_by=demo["caseworker"])
        handed = await make_published_need(
            session,
            household=other,
            created_by=demo["caseworker"],
            title=f"冬季棉被两床 {mark}",
            quantity=2,
            unit="床",
        )
        member = await load_current_user(session, demo["org_member"])
        assert member is not None
        claim = await resources.claim_need(
            session, member, need_id=handed.id, organization_id=demo["org:charity"]
        )
        opened = await fulfilment.open_for_claim(session, member, claim.id)
        await fulfilment.record_delivery(
            session,
            member,
            opened.id,
            fulfilment.DeliveryIn(
                delivered_on=fulfilment.today_local(), description="两床棉被", quantity=2
            ),
            photos=[],
            storage=LocalStorage(SHOTS / "uploads"),
        )
        return {"need": open_need.id, "delivered_claim": claim.id}

    result: dict[str, Any] = _run(database_url, go)
    return result


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert no_horizontal_scroll(page), f"{name}: wider than the screen ({SHOTS})"


def _context(browser: Any, base: str, lang: str, viewport: dict[str, int] = PHONE) -> Any:
    context = browser.new_context(viewport=viewport)
    context.add_cookies([{"name": "tx_lang", "value": lang, "url": base}])
    return context


TEXT = {
    "zh_CN": {
        "before": "需要 100 kg，已认领 0 kg",
        "after": "需要 100 kg，已认领 40 kg",
        "help": "我来帮助",
        "claim_h1": "认领需求",
        "claim_button": "认领这个需求",
        "claimed": "您已认领这个需求",
        "helped_by": "帮扶组织",
        "release": "放弃认领",
    },
    "en": {
        "before": "0 kg pledged of 100 kg needed",
        "after": "40 kg pledged of 100 kg needed",
        "help": "Help with this",
        "claim_h1": "Claim a need",
        "claim_button": "Claim this need",
        "claimed": "You claimed this need.",
        "helped_by": "Helped by",
        "release": "Release",
    },
}


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_member_claims_from_the_need_page(
    browser: Any,
    live_server: str,
    database_url: str,
    demo: dict[str, Any],
    demo_users: dict[str, tuple[str, str]],
    lang: str,
) -> None:
    from playwright.sync_api import expect

    words = TEXT[lang]
    ids = _setup(database_url, demo)
    need_url = f"{live_server}/needs/{ids['need']}"

    # An anonymous visitor sees the figures and an invitation to sign in (the cached page).
    visitor = _context(browser, live_server, lang).new_page()
    visitor.goto(need_url)
    expect(visitor.locator("#need-progress")).to_contain_text(words["before"])
    assert visitor.locator(f"a[href*='/needs/{ids['need']}/claim']").count() == 0
    _shot(visitor, f"need-anonymous-{lang}")

    context = _context(browser, live_server, lang)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    email, password = demo_users["org_member"]
    sign_in(page, live_server, email, password)
    page.goto(need_url)
    expect(page.locator("#need-progress")).to_contain_text(words["before"])
    _shot(page, f"need-member-{lang}")

    page.locator("#need-help a[role=button]", has_text=words["help"]).click()
    expect(page.locator("h1")).to_have_text(words["claim_h1"])
    _shot(page, f"claim-form-{lang}")
    page.locator("#f-quantity").fill("40")
    page.get_by_role("button", name=words["claim_button"]).click()
    expect(page.locator("main")).to_contain_text(words["claimed"])
    _shot(page, f"claim-detail-{lang}")

    page.goto(need_url)
    progress = page.locator("#need-progress")
    expect(progress).to_contain_text(words["after"])
    expect(progress).to_contain_text(words["helped_by"])
    expect(progress).to_contain_text("西湖区慈善总会")
    _shot(page, f"need-after-{lang}")

    # The anonymous page follows once the worker ran the claim's event (no stale cache).
    for _ in range(40):
        visitor.goto(need_url)
        if words["after"] in visitor.locator("#need-progress").inner_text():
            break
        visitor.wait_for_timeout(250)
    expect(visitor.locator("#need-progress")).to_contain_text(words["after"])
    expect(visitor.locator("#need-progress")).to_contain_text("西湖区慈善总会")

    # A claim with a delivery recorded offers no release (放弃认领).
    page.goto(f"{live_server}/claims/{ids['delivered_claim']}")
    expect(page.locator("h1")).to_be_visible()
    assert page.locator(f"form[action='/claims/{ids['delivered_claim']}/release']").count() == 0
    assert page.get_by_role("button", name=words["release"], exact=True).count() == 0
    _shot(page, f"claim-delivered-{lang}")

    # The same pages on a desktop screen.
    wide = _context(browser, live_server, lang, DESKTOP)
    wide.add_cookies(context.cookies())
    desk = wide.new_page()
    desk.goto(need_url)
    expect(desk.locator("#need-progress")).to_contain_text(words["after"])
    _shot(desk, f"need-desktop-{lang}")
    assert not errors, errors
    wide.close()
    context.close()
