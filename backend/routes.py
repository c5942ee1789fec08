"""Every domain's controllers: web pages and the JSON API (mounted under /api/v1).

One ``"module:attribute"`` per line, kept in alphabetical order so that domains adding their
own lines rarely touch the same place.
"""

from __future__ import annotations

import importlib
from typing import Any

WEB = [
    "backend.accounts.oidc_views:OIDCViews",
    "backend.accounts.oidc_views:PendingUserViews",
    "backend.accounts.views:AccountViews",
    "backend.accounts.views:AdminViews",
    "backend.accounts.views:OrganizationViews",
    "backend.donations.views:DonationViews",
    "backend.donations.webhooks:stripe_webhook",
    "backend.fulfilment.views:CaseworkerViews",
    "backend.fulfilment.views:CodeViews",
    "backend.fulfilment.views:DeliveryViews",
    "backend.fulfilment.views:SelfServiceViews",
    "backend.fulfilment.views:VisitViews",
    "backend.households.views:HouseholdViews",
    "backend.households.views:ReferralViews",
    "backend.items.views:CountyKindViews",
    "backend.items.views:ItemViews",
    "backend.items.views:KindConfirmViews",
    "backend.matches.views:CoordinationViews",
    "backend.matches.views:OrganizationMatchViews",
    "backend.needs.views:PublicNeedViews",
    "backend.notifications.views:NotificationViews",
    "backend.organizations.views:DirectoryViews",
    "backend.organizations.views:PortalViews",
    "backend.partner.api:token_endpoint",
    "backend.partner.views:PartnerClientViews",
    "backend.projects.views:ProjectViews",
    "backend.resources.views:ClaimViews",
    "backend.resources.views:ResourceViews",
    "backend.search.views:SearchViews",
    "backend.volunteering.views:CertificateCheckViews",
    "backend.volunteering.views:TaskViews",
    "backend.volunteering.views:VolunteerViews",
    "backend.web.views:SiteController",
    "backend.web.views:healthz",
]

API = [
    "backend.accounts.api:AccountsAPI",
    "backend.donations.api:DonationsAPI",
    "backend.households.api:HouseholdsAPI",
    "backend.households.api:ReferralsAPI",
    "backend.needs.api:PublicNeedsAPI",
    "backend.organizations.api:DirectoryAPI",
    "backend.notifications.views:NotificationsAPI",
    "backend.partner.api:PartnerAPI",
    "backend.projects.api:ProjectsAPI",
    "backend.resources.api:ResourcesAPI",
    "backend.search.api:SearchAPI",
    "backend.volunteering.api:TasksAPI",
]


def _load(specs: list[str]) -> list[Any]:
    handlers = []
    for spec in specs:
        module, _, name = spec.partition(":")
        handlers.append(getattr(importlib.import_module(module), name))
    return handlers


def web_handlers() -> list[Any]:
    return _load(WEB)


def api_handlers() -> list[Any]:
    return _load(API)
