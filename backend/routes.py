"""Every domain's controllers, in one list each for the web pages and the JSON API."""

from __future__ import annotations

from typing import Any


def web_handlers() -> list[Any]:
    from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
    from backend.households.views import HouseholdViews, ReferralViews
    from backend.needs.views import PublicNeedViews
    from backend.web.views import SiteController, healthz

    return [SiteController, AccountViews, OrganizationViews, AdminViews, healthz,
            HouseholdViews, ReferralViews, PublicNeedViews]


def api_handlers() -> list[Any]:
    from backend.accounts.api import AccountsAPI
    from backend.households.api import HouseholdsAPI, ReferralsAPI
    from backend.needs.api import PublicNeedsAPI

    return [AccountsAPI, HouseholdsAPI, ReferralsAPI, PublicNeedsAPI]
