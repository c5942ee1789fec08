"""Sign-in with OpenID Connect in a real browser (Debian Chromium via Playwright) against the
real oidc-provider: choose the provider, log in and consent on the provider's own pages, come
back signed in; then sign out through the provider's end-session endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.oidc.conftest import OIDCEnv

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


def test_oidc_sign_in_in_a_browser(oidc_env: OIDCEnv) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            context.add_cookies([{"name": "tx_lang", "value": "en", "url": oidc_env.app}])
            page = context.new_page()
            # The app's sign-in page leads to the list of identity providers.
            page.goto(oidc_env.app + "/signin?next=/profile")
            page.get_by_role("link", name="Sign in with your organization's account").click()
            page.locator("a[href*='/oidc/alpha/start']").click()
            # The provider's own login and consent pages.
            page.wait_for_load_state()
            assert page.url.startswith(oidc_env.alpha.issuer), page.url
            page.locator("input[name=login]").fill("bob")
            page.locator("input[name=password]").fill("any password")
            with page.expect_navigation():
                page.locator("button[type=submit]").first.click()
            for _ in range(3):  # the consent page, unless already given
                if not page.url.startswith(oidc_env.alpha.issuer):
                    break
                with page.expect_navigation():
                    page.locator("button[type=submit]").first.click()
            # Back at the app, signed in, on the page asked for.
            page.wait_for_url(oidc_env.app + "/profile")
            expect(page.locator("header form[action='/signout']")).to_be_visible()
            # No local password, so no "change password" form.
            expect(page.locator("#password-title")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "oidc-signed-in.png"), full_page=True)
            assert any(c["name"] == "tx_session" for c in context.cookies(oidc_env.app))
            # Sign-out ends the local session and goes through the provider's end-session page.
            with page.expect_navigation():
                page.locator("header form[action='/signout'] button").click()
            assert page.url.startswith(oidc_env.alpha.issuer)
            page.goto(oidc_env.app + "/profile")
            assert "/signin" in page.url
        finally:
            browser.close()
