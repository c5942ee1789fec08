"""In a real browser: the coordinator queue of a county with wheelchairs, quilts, crutches and
rice. Proposals are grouped by need with their alternatives; the visible text names offers,
item kinds, units and dates, and never a raw code or UUID; a new run asks before it replaces
proposals nobody has reviewed (Debian's Chromium through Playwright, against ``live_server``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.core.db import utcnow
from backend.demo.matching import make_household, make_need, make_resource
from backend.matches import service
from backend.needs.models import Urgency
from tests.matches import factories as fx
from tests.web.test_browser_shell import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, PHONE

pytestmark = pytest.mark.browser

COUNTY = "330109"
COMMUNITY = "330109113023"
DESKTOP = {"width": 1280, "height": 800}
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-")
#: Codes that must never reach a person: categories, kinds, household categories, None.
RAW_CODES = re.compile(
    r"\b(goods|wheelchair|walker|crutches|quilt|rice|dibao|elderly|None|none|funds)\b"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
async def county_world(runtime: Any, demo: dict[str, Any]) -> dict[str, Any]:
    """Four needs and five offers in 萧山区, matched once (committed)."""
    tag = uuid.uuid4().hex[:4]
    today = utcnow().date()
    needs_spec = [
        # title, kind, unit, quantity, urgency, deadline (days)
        (f"轮椅一台 {tag}", "wheelchair", "台", 1, Urgency.EMERGENCY, 10),
        (f"冬季棉被 2 条 {tag}", "quilt", "条", 2, Urgency.EMERGENCY, 20),
        (f"需要一副拐杖 {tag}", "crutches", "副", 1, Urgency.EMERGENCY, None),
        (f"大米 10 公斤 {tag}", "rice", "kg", 10, Urgency.EMERGENCY, 15),
    ]
    offers_spec = [
        # org, title, kind, unit, capacity, until (days)
        ("org:charity", f"冬季棉被 {tag}", "quilt", "条", 100, 60),
        ("org:charity", f"四脚助行器 {tag}", "walker", "台", 5, None),
        ("org:charity", f"东北大米 {tag}", "rice", "斤", 200, 45),
        ("org:charity", f"手动轮椅 {tag}", "wheelchair", "台", 2, 30),
        ("org:volunteers", f"加厚棉被 {tag}", "quilt", "床", 20, None),
    ]
    async with runtime.transaction() as s:
        titles = {}
        for title, kind, unit, quantity, urgency, days in needs_spec:
            household = await make_household(
                s, region_code=COMMUNITY, registered_by=demo["caseworker"], flags=("elderly",)
            )
            need = await make_need(
                s,
                household,
                created_by=demo["caseworker"],
                category="goods",
                quantity=quantity,
                urgency=urgency,
                title=title,
                deadline=today + timedelta(days=days) if days else None,
            )
            need.item_kind, need.unit = kind, unit
            titles[kind] = title
        for org, title, kind, unit, capacity, until in offers_spec:
            resource = await make_resource(
                s,
                organization_id=demo[org],
                created_by=demo["org_admin"],
                category="goods",
                capacity=capacity,
                service_area=(COUNTY,),
                title=title,
            )
            resource.item_kind, resource.unit = kind, unit
            resource.available_until = today + timedelta(days=until) if until else None
        await s.flush()
        coordinator = await fx.user(s, demo["coordinator"])
        run = await service.request_run(s, coordinator, COUNTY)
        await service.run_county(s, run)
    return {"tag": tag, "titles": titles, "today": today}


def _sign_in(page: Any, base: str, email: str, password: str, target: str) -> None:
    page.goto(f"{base}/signin?next={target}")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form button[type=submit]").click()


def _group(page: Any, title: str) -> Any:
    return page.locator("section.need-group", has=page.locator("h2", has_text=title))


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_queue_grouped_by_need_readable_and_rerun_asks(
    county_world: dict[str, Any],  # before ``browser``: Playwright's loop must not run yet
    browser: Any,
    live_server: str,
    demo_users: dict[str, tuple[str, str]],
    locale: str,
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    tag, titles, today = county_world["tag"], county_world["titles"], county_world["today"]
    language = "zh-CN,zh;q=0.9" if locale == "zh_CN" else "en"
    context = browser.new_context(viewport=PHONE, extra_http_headers={"Accept-Language": language})
    # The coordinator's own language setting is Chinese: the language cookie chooses instead.
    context.add_cookies([{"name": "tx_lang", "value": locale, "url": live_server}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        email, password = demo_users["coordinator"]
        _sign_in(page, live_server, email, password, "/coordination/matches?urgency=emergency")
        expect(page).to_have_url(f"{live_server}/coordination/matches?urgency=emergency")
        wheelchair = _group(page, titles["wheelchair"])
        for _ in range(20):  # other tests add emergencies too: page on until ours shows
            if wheelchair.count():
                break
            page.locator("a[rel=next]").first.click()
            page.wait_for_load_state()
        expect(wheelchair).to_have_count(1)

        # The wheelchair need got the wheelchair, never the quilt or the walker.
        expect(wheelchair.locator("article.proposal h4")).to_have_text([f"手动轮椅 {tag}"])
        expect(wheelchair).not_to_contain_text(f"冬季棉被 {tag}")
        expect(wheelchair).not_to_contain_text(f"四脚助行器 {tag}")
        # Quantities with units and dates as dates.
        expect(wheelchair.locator(".need-facts")).to_contain_text("1 台")
        expect(wheelchair).to_contain_text((today + timedelta(days=10)).isoformat())
        expect(wheelchair).to_contain_text((today + timedelta(days=30)).isoformat())
        # The quilt need has the other quilt offer as an alternative beside its proposal.
        quilt = _group(page, titles["quilt"])
        expect(quilt.locator("article.proposal")).to_have_count(1)
        expect(quilt.locator("aside.alternatives")).to_contain_text("棉被")
        # Crutches: the walker may stand in; rice: kg asked, 斤 offered, converted.
        crutches = _group(page, titles["crutches"])
        expect(crutches.locator("article.proposal h4")).to_have_text([f"四脚助行器 {tag}"])
        rice = _group(page, titles["rice"])
        expect(rice.locator("article.proposal h4").first).to_contain_text("大米")
        expect(rice).to_contain_text(f"东北大米 {tag}")  # proposed or beside, in 斤
        expect(rice).to_contain_text("斤")

        # Open every explanation, then read all visible text: no raw code, no UUID.
        page.evaluate("document.querySelectorAll('main details').forEach(d => d.open = true)")
        for group in (wheelchair, quilt, crutches, rice):
            text = group.inner_text()
            assert not UUID_RE.search(text), text
            assert not RAW_CODES.search(text), RAW_CODES.search(text)
            assert "无 至 无" not in text
        crutch_text = crutches.inner_text()
        if locale == "zh_CN":
            assert "助行器可替代所需的拐杖" in crutch_text
        else:
            assert "Walking frame may stand in for the Crutches asked for" in crutch_text
        assert f"四脚助行器 {tag}" in crutch_text

        # No horizontal scroll on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        wheelchair.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"queue-{locale}-390.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(ARTIFACTS / f"queue-{locale}-1280.png"), full_page=True)

        # Re-running the county asks first and says how many proposals it would replace.
        page.goto(f"{live_server}/coordination/runs")
        page.locator("select[name=county_code]").select_option(COUNTY)
        page.locator("main form button[type=submit]").first.click()
        expect(page.locator("h1")).to_have_text(
            "再次运行匹配？" if locale == "zh_CN" else "Run matching again?"
        )
        question = page.locator("#rerun-q").inner_text()
        assert re.search(r"\d+", question), question
        assert ("萧山区" if locale == "zh_CN" else "Xiaoshan") in question
        page.screenshot(path=str(ARTIFACTS / f"queue-rerun-{locale}.png"), full_page=True)
        if locale == "en":
            page.get_by_role("button", name="Replace them and run").click()
            expect(page).to_have_url(re.compile(r"/coordination/runs/[0-9a-f-]+$"))
        assert not errors, errors
    finally:
        context.close()
