"""Every domain's controllers, in one list each for the web pages and the JSON API."""

from __future__ import annotations

from typing import Any


def web_handlers() -> list[Any]:
    from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
    from backend.matches.views import CoordinationViews, OrganizationMatchViews
    from backend.notifications.views import NotificationViews
    from backend.web.views import SiteController, healthz

    return [SiteController, AccountViews, OrganizationViews, AdminViews, healthz,
            CoordinationViews, OrganizationMatchViews, NotificationViews]


def api_handlers() -> list[Any]:
    from backend.accounts.api import AccountsAPI
    from backend.notifications.views import NotificationsAPI

    return [AccountsAPI, NotificationsAPI]
