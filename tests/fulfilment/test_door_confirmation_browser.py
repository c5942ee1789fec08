"""The 幸福码 in a real browser (Debian Chromium via Playwright, phone size 390 × 844).

A caseworker issues a card and prints the card (A6), a sheet of cards (A4) and the sealed PIN
slips; a volunteer alone cannot confirm a delivery; the volunteer scans the card's QR URL, the
household types its PIN on the volunteer's phone and the delivery is confirmed; the same QR URL
on the household's phone opens its self-service sign-in with the code filled in, where it rates
in one tap, confirms on its own phone in one and reports "not received" in two; five wrong PINs
show the tries left and then answer 429 with Retry-After.

Screenshots (card A6, sheet A4, PIN slip, self-service in zh_CN and en) go to the test's
temporary folder; their paths are printed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}
A6 = {"width": 397, "height": 560}  # 105 × 148 mm at 96 px per inch
A4 = {"width": 794, "height": 1123}  # 210 × 297 mm
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
MARK = uuid.uuid4().hex[:6].upper()


def _run(database_url: str, fn: Any) -> Any:
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
    """Five new 西湖区 households; the first (A) gets three deliveries by org A waiting for it."""

    async def go(session: Any) -> dict[str, Any]:
        from backend.fulfilment.models import Delivery, DeliveryState, Fulfilment, FulfilmentState
        from backend.households.service import today_local
        from backend.needs.models import Need, NeedState
        from backend.resources.models import Claim, ClaimState
        from tests.households.factories import make_household

        households = [
            await make_household(session, demo["caseworker"], region="330106004") for _ in range(5)
        ]
        deliveries = []
        for title in (f"爱心棉被 {MARK}", f"大米一袋 {MARK}", f"食用油 {MARK}"):
            need = Need(
                id=uuid.uuid4(),
                household_id=households[0].id,
                region_code=households[0].region_code,
                category="goods",
                title=title,
                body="",
                quantity=1,
                unit="份",
                state=NeedState.IN_PROGRESS,
                pledged=1,
                helper_organization_id=demo["org:charity"],
                created_by=demo["caseworker"],
            )
            session.add(need)
            await session.flush()
            claim = Claim(
                id=uuid.uuid4(),
                need_id=need.id,
                organization_id=demo["org:charity"],
                quantity=1,
                state=ClaimState.ACTIVE,
                claimed_by=demo["org_member"],
            )
            session.add(claim)
            await session.flush()
            fulfilment = Fulfilment(
                id=uuid.uuid4(),
                need_id=need.id,
                organization_id=demo["org:charity"],
                claim_id=claim.id,
                state=FulfilmentState.OPEN,
                promised=1,
            )
            session.add(fulfilment)
            await session.flush()
            delivery = Delivery(
                id=uuid.uuid4(),
                fulfilment_id=fulfilment.id,
                delivered_on=today_local(),
                description=title,
                quantity=1,
                photos=[],
                state=DeliveryState.RECORDED,
                recorded_by=demo["org_member"],
            )
            session.add(delivery)
            await session.flush()
            deliveries.append(delivery.id)
        return {"households": [h.id for h in households], "deliveries": deliveries}

    result: dict[str, Any] = _run(database_url, go)
    return result


def _delivery_state(database_url: str, delivery_id: uuid.UUID) -> tuple[str, str | None]:
    async def go(session: Any) -> tuple[str, str | None]:
        from backend.fulfilment.models import Delivery

        d = await session.get(Delivery, delivery_id)
        return d.state.value, d.confirmation_method.value if d.confirmation_method else None

    result: tuple[str, str | None] = _run(database_url, go)
    return result


def _clear_address_limits(redis_url: str) -> None:
    """The live server sees every browser as 127.0.0.1: start this test with its count at 0."""
    import redis as redis_sync

    from backend.core.queue import redis_settings
    from backend.households.pinguard import PinGuard

    rs = redis_settings(redis_url)
    client = redis_sync.Redis(
        host=rs.host, port=rs.port, unix_socket_path=rs.unix_socket_path, db=rs.database
    )
    try:
        client.delete(*PinGuard(None)._keys("ip", "127.0.0.1"))  # type: ignore[arg-type]
    finally:
        client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/signin")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form button[type=submit]").click()
    # each role lands on its own start page (backend/web/landing.py)
    page.wait_for_url(lambda url: "/signin" not in url)


def _no_horizontal_scroll(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 0.5)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)""",
        width,
    )
    assert scroll <= width, f"{page.url} scrolls sideways at {width} px ({scroll} px): {wide}"


def _print_shot(page: Any, url: str, size: dict[str, int], path: Path) -> bytes:
    """The print layout as a picture (print media at paper size) and as a PDF."""
    page.set_viewport_size(size)
    page.goto(url)
    page.emulate_media(media="print")
    page.screenshot(path=str(path), full_page=True)
    pdf: bytes = page.pdf(prefer_css_page_size=True, print_background=True)
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    return pdf


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    from pypdf import PdfReader

    return [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height)))
        for p in PdfReader(io.BytesIO(pdf)).pages
    ]


def test_card_door_confirmation_self_service_and_lockout(
    browser: Any,
    live_server: str,
    demo_users: dict[str, tuple[str, str]],
    demo: dict[str, Any],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    from backend.households import code as hc
    from backend.households.qr import qr_svg

    _clear_address_limits(redis_url)
    made = _setup(database_url, demo)
    household_a, *others = made["households"]
    d_door, d_received, d_missing = made["deliveries"]
    shots: list[Path] = []

    # 1. The caseworker issues household A's card: the card page has the code, not the PIN.
    staff = browser.new_context(viewport=PHONE, extra_http_headers=ZH)
    page = staff.new_page()
    _sign_in(page, live_server, *demo_users["caseworker"])
    page.goto(f"{live_server}/households/{household_a}")
    page.locator("form[action$='/code'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/households/cards/[^/?]+$"))
    card_url = page.url
    groups = page.locator(".code-card .code span").all_inner_texts()
    assert [len(g) for g in groups] == [4, 4, 4, 1], groups
    display = "-".join(groups)
    code = hc.normalize(display)
    qr_url = f"{live_server}/my#{display}"
    card_svg = page.locator(".code-card .qr svg").evaluate("e => e.outerHTML")
    assert _same_qr(card_svg, qr_svg(qr_url)), "the card's QR does not encode the sign-in URL"
    expect(page.locator(".code-card .community")).not_to_be_empty()
    expect(page.locator(".code-card .phone")).to_contain_text("12345")
    expect(page.locator(".code-card")).not_to_contain_text("测试户主")
    _no_horizontal_scroll(page, PHONE["width"])
    shots.append(tmp_path / "card-screen-zh.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    pdf = _print_shot(page, card_url, A6, tmp_path / "card-a6-zh.png")
    shots.append(tmp_path / "card-a6-zh.png")
    assert _pages(pdf) == [(298, 420)], _pages(pdf)  # one A6 page (105 × 148 mm in points)

    # …its sealed PIN slip, shown once, on a page of its own.
    page.goto(card_url + "/slips")
    page.locator("#show-slips").click()
    pin = page.locator(".pin-slip .pin").inner_text().strip()
    assert re.fullmatch(r"\d{6}", pin)
    for variant in (display, code, *groups[:3]):
        assert variant not in page.locator("main").inner_text()
    page.emulate_media(media="print")
    page.set_viewport_size(A6)
    shots.append(tmp_path / "pin-slip-a6-zh.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    page.goto(card_url)
    assert pin not in page.locator("main").inner_text()

    # 2. A sheet of four other households' cards on A4 (and one more on a second sheet).
    csrf = next(c["value"] for c in staff.cookies() if c["name"] == "tx_csrf")
    batch = page.request.post(
        f"{live_server}/households/cards",
        headers={"x-csrftoken": csrf, "content-type": "application/x-www-form-urlencoded"},
        data="&".join(f"household={h}" for h in others),
        max_redirects=0,
    )
    assert batch.status == 303, batch.text()
    sheet_url = live_server + batch.headers["location"] + "?layout=a4"
    page.goto(sheet_url)
    expect(page.locator(".code-card")).to_have_count(4)
    b_display = "-".join(page.locator(".code-card").first.locator(".code span").all_inner_texts())
    pdf = _print_shot(page, sheet_url, A4, tmp_path / "sheet-a4-zh.png")
    shots.append(tmp_path / "sheet-a4-zh.png")
    assert _pages(pdf) == [(595, 842)], _pages(pdf)  # four cards fill one A4 sheet
    staff_en = browser.new_context(viewport=PHONE, extra_http_headers=EN)
    en_page = staff_en.new_page()
    _sign_in(en_page, live_server, *demo_users["caseworker"])
    en_page.goto(card_url)  # another session of the same caseworker may show the batch
    if en_page.locator("html").get_attribute("lang") != "en":  # the account prefers Chinese
        en_page.locator(".lang-switch button").click()
        en_page.wait_for_url(card_url)
    expect(en_page.locator(".code-card .howto")).to_contain_text("PIN")
    _print_shot(en_page, card_url, A6, tmp_path / "card-a6-en.png")
    shots.append(tmp_path / "card-a6-en.png")
    _print_shot(en_page, sheet_url, A4, tmp_path / "sheet-a4-en.png")
    shots.append(tmp_path / "sheet-a4-en.png")
    staff_en.close()
    staff.close()

    # 3. A volunteer's session alone cannot confirm.
    org = browser.new_context(viewport=PHONE, extra_http_headers=ZH)
    page = org.new_page()
    _sign_in(page, live_server, *demo_users["org_member"])
    csrf = next(c["value"] for c in org.cookies() if c["name"] == "tx_csrf")
    headers = {"x-csrftoken": csrf}
    no_pin = page.request.post(
        f"{live_server}/deliveries/{d_door}/confirm",
        headers=headers,
        form={"code": display, "pin": ""},
        max_redirects=0,
    )
    assert no_pin.status == 422
    assert (
        page.request.post(
            f"{live_server}/deliveries/{d_door}/caseworker-confirm",
            headers=headers,
            form={"reason": "told_by_phone"},
            max_redirects=0,
        ).status
        == 403
    )
    assert (
        page.request.post(
            f"{live_server}/my/deliveries/{d_door}/received", headers=headers, max_redirects=0
        ).status
        == 404
    )
    assert _delivery_state(database_url, d_door) == ("recorded", None)
    # nor can the household's PIN, typed on the volunteer's phone, open the household's list
    assert (
        page.request.post(
            f"{live_server}/my",
            headers=headers,
            form={"code": display, "pin": pin},
            max_redirects=0,
        ).status
        == 403
    )

    # 4. At the door: the volunteer scans the QR, the household types its PIN on that phone.
    page.goto(qr_url)
    expect(page.locator("#f-code")).to_have_value(display)
    assert "#" not in page.url  # the code leaves the address bar and history
    shots.append(tmp_path / "door-scanned-zh.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    page.locator("#find-delivery").click()
    page.locator(f"form[action='/deliveries/{d_door}/confirm'] button").click()
    expect(page.locator("#f-code")).to_have_value(display)
    page.locator("#f-pin").fill(_wrong(pin))
    with page.expect_response(f"{live_server}/deliveries/{d_door}/confirm") as wrong_answer:
        page.locator("#confirm").click()
    assert wrong_answer.value.status == 422
    assert pin not in wrong_answer.value.text()  # the volunteer's account gets no PIN back
    expect(page.locator("[role=alert]")).to_contain_text("4")
    expect(page.locator("#f-pin")).to_have_value("")
    _no_horizontal_scroll(page, PHONE["width"])
    shots.append(tmp_path / "door-pin-zh.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    page.locator("#f-pin").fill(pin)
    page.locator("#confirm").click()
    expect(page.locator("#delivery-state")).to_have_text(re.compile("已确认|Confirmed"))
    expect(page.locator("main")).to_contain_text(re.compile("上门|door"))
    assert _delivery_state(database_url, d_door) == ("confirmed", "code_and_pin")
    org.close()

    # 5. The household scans the same card on its own phone: sign-in with the code filled in.
    for lang, headers_lang in (("zh", ZH), ("en", EN)):
        home = browser.new_context(viewport=PHONE, extra_http_headers=headers_lang)
        page = home.new_page()
        page.goto(qr_url)
        expect(page.locator("#f-code")).to_have_value(display)
        expect(page.locator("#f-pin")).to_be_focused()
        _no_horizontal_scroll(page, PHONE["width"])
        shots.append(tmp_path / f"self-signin-{lang}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        page.locator("#f-pin").fill(pin)
        page.locator("#open-list").click()
        expect(page.locator("#my-list")).to_be_visible()
        if lang == "zh":
            # rating in one tap
            item = page.locator(".timeline-item", has_text=f"爱心棉被 {MARK}")
            item.locator("button.star[value='5']").click()
            expect(page.locator("[role=status]").first).to_contain_text(re.compile("谢谢"))
            expect(
                page.locator(".timeline-item", has_text=f"爱心棉被 {MARK}").locator(".stars")
            ).to_have_text("★★★★★")
            # "yes, I received it": one tap on its screen
            page.locator(f"a[href='/my/deliveries/{d_received}']").click()
            page.locator("#yes-received").click()
            expect(page.locator("[role=status]").first).to_be_visible()
            assert _delivery_state(database_url, d_received) == ("confirmed", "own_phone")
            # "not received": two taps
            page.locator(f"a[href='/my/deliveries/{d_missing}']").click()
            page.locator("#not-received").click()
            _no_horizontal_scroll(page, PHONE["width"])
            shots.append(tmp_path / "self-not-received-zh.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.locator("#yes-tell").click()
            expect(page.locator("[role=status]").first).to_be_visible()
            assert _delivery_state(database_url, d_missing)[0] == "disputed"
        _no_horizontal_scroll(page, PHONE["width"])
        shots.append(tmp_path / f"self-list-{lang}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        page.set_viewport_size(NARROW)
        page.reload()
        _no_horizontal_scroll(page, NARROW["width"])
        page.locator("#sign-out-top").click()
        expect(page.locator("#f-code")).to_be_visible()
        page.goto(f"{live_server}/my")
        expect(page.locator("#my-list")).to_have_count(0)
        home.close()

    # 6. Five wrong PINs: tries left, then 429 with Retry-After (household B's card).
    guess = browser.new_context(viewport=PHONE, extra_http_headers=EN)
    page = guess.new_page()
    page.goto(f"{live_server}/my")
    statuses = []
    for left in (4, 3, 2, 1, 0):
        page.locator("#f-code").fill(b_display.lower().replace("-", " "))
        page.locator("#f-pin").fill(f"{left}{left}{left}{left}{left}{left}")
        with page.expect_response(f"{live_server}/my") as answer:
            page.locator("#open-list").click()
        statuses.append(answer.value.status)
        if left:
            expect(page.locator("[role=alert]")).to_contain_text(f"{left} tries left")
    assert statuses == [422, 422, 422, 422, 429], statuses
    retry_after = int(answer.value.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    expect(page.locator("[role=alert]")).to_contain_text("15 minutes")
    shots.append(tmp_path / "self-locked-en.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    guess.close()
    _clear_address_limits(redis_url)

    for shot in shots:
        assert shot.stat().st_size > 5000, shot
    print("\nscreenshots:\n" + "\n".join(str(s) for s in shots))


def _wrong(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


def _same_qr(shown: str, expected: str) -> bool:
    """The modules of two SVG QR codes are the same (compare the path data only)."""

    def path(svg: str) -> str:
        found = re.search(r'\sd="([^"]+)"', svg)
        return found.group(1) if found else ""

    return bool(path(shown)) and path(shown) == path(expected)
