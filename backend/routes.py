"""Every domain's controllers, in one list each for the web pages and the JSON API."""

from __future__ import annotations

from typing import Any

import backend.search.provider  # noqa: F401 - registers the search service and its outbox handlers


def web_handlers() -> list[Any]:
    from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
    from backend.search.views import SearchViews
    from backend.web.views import SiteController, healthz

    return [SiteController, AccountViews, OrganizationViews, AdminViews, healthz, SearchViews]


def api_handlers() -> list[Any]:
    from backend.accounts.api import AccountsAPI
    from backend.search.api import SearchAPI

    return [AccountsAPI, SearchAPI]
