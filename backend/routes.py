"""Every domain's controllers, in one list each for the web pages and the JSON API."""

from __future__ import annotations

from typing import Any


def web_handlers() -> list[Any]:
    from backend.accounts.oidc_views import OIDCViews, PendingUserViews
    from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
    from backend.partner.api import token_endpoint
    from backend.partner.views import PartnerClientViews
    from backend.web.views import SiteController, healthz

    return [
        SiteController,
        AccountViews,
        OrganizationViews,
        AdminViews,
        healthz,
        OIDCViews,
        PendingUserViews,
        PartnerClientViews,
        token_endpoint,
    ]


def api_handlers() -> list[Any]:
    from backend.accounts.api import AccountsAPI
    from backend.partner.api import PartnerAPI

    return [AccountsAPI, PartnerAPI]
