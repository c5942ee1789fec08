"""The page shell in a real browser: sign in through the form, in both languages, and sign out.

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright against ``live_server``
(the app under uvicorn with the demo data). Screenshots go to ``test-artifacts/`` so a person
can look at the pages at phone and desktop width.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# What each locale must show once signed in, and the demo user it signs in as.
CASES = {
    "zh_CN": {
        "user": "volunteer",
        "html_lang": "zh-CN",
        "accept": "zh-CN,zh;q=0.9",
        "sign_in": "登录",
        "email_label": "电子邮箱",
        "sign_out": "退出登录",
        "account": "我的账户",
        "role": "志愿者",
        "welcome": "欢迎回来",
    },
    "en": {
        "user": "admin",
        "html_lang": "en",
        "accept": "en-US,en;q=0.9",
        "sign_in": "Sign in",
        "email_label": "E-mail address",
        "sign_out": "Sign out",
        "account": "My account",
        "role": "Platform administrator",
        "welcome": "Welcome back",
    },
}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("locale", list(CASES))
def test_sign_in_and_out_in_each_language(
    browser: object, live_server: str, demo_users: dict[str, tuple[str, str]], locale: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    case = CASES[locale]
    email, password = demo_users[case["user"]]
    ARTIFACTS.mkdir(exist_ok=True)
    # Start in the other language, so the switch in the header is what sets this one.
    other = CASES["en" if locale == "zh_CN" else "zh_CN"]
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        extra_http_headers={"Accept-Language": other["accept"]},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(live_server + "/")
        expect(page.locator("html")).to_have_attribute("lang", other["html_lang"])
        page.locator("form.lang-switch button").click()
        expect(page.locator("html")).to_have_attribute("lang", case["html_lang"])
        assert page.evaluate("typeof window.htmx") == "object", (
            "htmx did not load from /static/vendor"
        )
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "PingFang SC" in font, font

        # Sign in through the form in the header.
        page.locator("header.site-header").get_by_role(
            "link", name=case["sign_in"], exact=True
        ).click()
        expect(page).to_have_url(live_server + "/signin")
        page.get_by_label(case["email_label"]).fill(email)
        page.locator("#f-password").fill(password)
        page.locator("main form button[type=submit]").click()

        # Signed in: home page greets the user, the header shows the account and sign-out.
        expect(page).to_have_url(live_server + "/")
        header = page.locator("header.site-header")
        expect(header.get_by_role("button", name=case["sign_out"])).to_be_visible()
        expect(header.get_by_role("link", name=case["account"])).to_be_visible()
        expect(page.locator("main")).to_contain_text(case["welcome"])
        if case["user"] == "admin":
            expect(header.get_by_role("link", name="Administration")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"shell-{locale}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(ARTIFACTS / f"shell-{locale}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)

        # The account page names the role in this language.
        header.get_by_role("link", name=case["account"]).click()
        expect(page).to_have_url(live_server + "/profile")
        expect(page.locator("main")).to_contain_text(case["role"])
        page.screenshot(path=str(ARTIFACTS / f"profile-{locale}.png"), full_page=True)

        # Sign out: back to the signed-out header.
        header.get_by_role("button", name=case["sign_out"]).click()
        expect(page).to_have_url(live_server + "/")
        expect(header.get_by_role("link", name=case["sign_in"], exact=True)).to_be_visible()
        expect(header.get_by_role("button", name=case["sign_out"])).to_have_count(0)
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"failed-{locale}.png"), full_page=True)
        (ARTIFACTS / f"failed-{locale}.html").write_text(page.content(), encoding="utf-8")
        raise
    finally:
        context.close()


def _sign_in(page: object, base: str, email: str, password: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(base + "/signin")
    page.locator("#f-email").fill(email)
    page.locator("#f-password").fill(password)
    page.locator("main form button[type=submit]").click()
    # each role lands on its own start page (backend/web/landing.py)
    page.wait_for_url(lambda url: "/signin" not in url)


@pytest.mark.parametrize("locale", list(CASES))
def test_every_shell_page_renders(
    browser: object, live_server: str, demo_users: dict[str, tuple[str, str]], locale: str
) -> None:
    """Forms with errors, the organization pages and an error page, as a person sees them."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    case = CASES[locale]
    shots = ARTIFACTS / "pages"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        extra_http_headers={"Accept-Language": case["accept"]},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # A failed sign-in keeps the e-mail, shows the summary, and marks nothing as a 500.
        page.goto(live_server + "/signin")
        page.locator("#f-email").fill("nobody@example.org")
        page.locator("#f-password").fill("wrong-password-1")
        page.locator("main form button[type=submit]").click()
        expect(page.locator(".notice-error[role=alert]")).to_be_visible()
        expect(page.locator("#f-email")).to_have_value("nobody@example.org")
        page.screenshot(path=str(shots / f"signin-error-{locale}.png"), full_page=True)

        # Sign-up with everything wrong: each field says what is wrong and is linked from the summary.
        page.goto(live_server + "/signup")
        page.locator("#f-email").fill("not-an-address")
        page.locator("main form button[type=submit]").click()
        expect(page.locator("#f-email")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#f-display_name")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(".notice-error a[href='#f-email']")).to_be_visible()
        page.screenshot(path=str(shots / f"signup-error-{locale}.png"), full_page=True)

        # Not found.
        response = page.goto(live_server + "/no-such-page")
        assert response is not None
        assert response.status == 404
        expect(page.locator(".error-page h1")).to_be_visible()
        page.screenshot(path=str(shots / f"error-404-{locale}.png"), full_page=True)

        # An organization admin registers nothing, but sees the form; the platform admin reviews.
        email, password = demo_users["admin"]
        _sign_in(page, live_server, email, password)
        page.goto(live_server + "/organizations/register")
        expect(page.locator("#f-region_code option").nth(1)).to_be_attached()
        page.locator("#f-uscc").fill("123")
        page.locator("main form button[type=submit]").click()
        expect(page.locator(".notice-error[role=alert]")).to_be_visible()
        page.screenshot(path=str(shots / f"org-register-error-{locale}.png"), full_page=True)

        page.goto(live_server + "/admin/organizations")
        expect(page.locator(".tabs a[aria-current=page]")).to_have_count(1)
        page.screenshot(path=str(shots / f"admin-orgs-{locale}.png"), full_page=True)
        # The status tabs swap the list in place through htmx and update the address bar.
        page.locator(".tabs a").nth(1).click()
        expect(page).to_have_url(live_server + "/admin/organizations?status=approved")
        expect(page.locator(".tabs a").nth(1)).to_have_attribute("aria-current", "page")
        expect(page.locator("h1")).to_have_count(1)
        page.set_viewport_size(DESKTOP)
        page.screenshot(
            path=str(shots / f"admin-orgs-approved-{locale}-desktop.png"), full_page=True
        )
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"failed-pages-{locale}.png"), full_page=True)
        (ARTIFACTS / f"failed-pages-{locale}.html").write_text(page.content(), encoding="utf-8")
        raise
    finally:
        context.close()
