"""Every domain's controllers, in one list each for the web pages and the JSON API."""

from __future__ import annotations

from typing import Any


def web_handlers() -> list[Any]:
    from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
    from backend.donations.views import DonationViews
    from backend.donations.webhooks import stripe_webhook
    from backend.web.views import SiteController, healthz

    return [SiteController, AccountViews, OrganizationViews, AdminViews, healthz,
            DonationViews, stripe_webhook]


def api_handlers() -> list[Any]:
    from backend.accounts.api import AccountsAPI
    from backend.donations.api import DonationsAPI

    return [AccountsAPI, DonationsAPI]
