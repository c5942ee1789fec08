"""Every domain's controllers: web pages and the JSON API (mounted under /api/v1).

Imported, not named by strings: a renamed or removed controller fails at import time and under
mypy. Keep each list in alphabetical order so that domains adding their own lines rarely touch
the same place.
"""

from __future__ import annotations

from typing import Any

from backend.accounts.api import AccountsAPI
from backend.accounts.lifecycle_views import InvitationInboxViews, LifecycleViews
from backend.accounts.oidc_views import OIDCViews, PendingUserViews
from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
from backend.audit.views import AuditorViews
from backend.dashboard.views import DashboardViews
from backend.donations.api import DonationsAPI
from backend.donations.bank_views import BankAccountViews
from backend.donations.views import DonationViews
from backend.donations.webhooks import stripe_webhook
from backend.fulfilment.views import (
    CaseworkerViews,
    CodeViews,
    DeliveryViews,
    SelfServiceViews,
    VisitViews,
)
from backend.grievance.views import (
    HandlerReportViews,
    HouseholdReportViews,
    PublicReportViews,
    TransparencyViews,
)
from backend.households.api import HouseholdsAPI, ReferralsAPI
from backend.households.views import HouseholdViews, ReferralViews
from backend.items.views import CountyKindViews, ItemViews, KindConfirmViews
from backend.matches.views import CoordinationViews, OrganizationMatchViews
from backend.needs.api import PublicNeedsAPI
from backend.needs.views import PublicNeedViews
from backend.notifications.views import DevMailboxViews, NotificationsAPI, NotificationViews
from backend.organizations.api import DirectoryAPI
from backend.organizations.views import DirectoryViews, PortalViews
from backend.partner.api import PartnerAPI, token_endpoint
from backend.partner.views import PartnerClientViews
from backend.projects.api import ProjectsAPI
from backend.projects.views import ProjectViews
from backend.resources.api import ResourcesAPI
from backend.resources.views import ClaimViews, ResourceViews
from backend.search.api import SearchAPI
from backend.search.views import SearchViews
from backend.volunteering.api import TasksAPI
from backend.volunteering.views import CertificateCheckViews, TaskViews, VolunteerViews
from backend.web.views import SiteController, healthz
from backend.web.work import WorkViews

WEB: list[Any] = [
    AuditorViews,
    InvitationInboxViews,
    LifecycleViews,
    OIDCViews,
    PendingUserViews,
    AccountViews,
    AdminViews,
    OrganizationViews,
    DonationViews,
    BankAccountViews,
    stripe_webhook,
    CaseworkerViews,
    CodeViews,
    DeliveryViews,
    SelfServiceViews,
    VisitViews,
    HandlerReportViews,
    HouseholdReportViews,
    PublicReportViews,
    TransparencyViews,
    HouseholdViews,
    ReferralViews,
    CountyKindViews,
    ItemViews,
    KindConfirmViews,
    CoordinationViews,
    DashboardViews,
    OrganizationMatchViews,
    PublicNeedViews,
    DevMailboxViews,
    NotificationViews,
    DirectoryViews,
    PortalViews,
    token_endpoint,
    PartnerClientViews,
    ProjectViews,
    ClaimViews,
    ResourceViews,
    SearchViews,
    CertificateCheckViews,
    TaskViews,
    VolunteerViews,
    SiteController,
    healthz,
    WorkViews,
]

API: list[Any] = [
    AccountsAPI,
    DonationsAPI,
    HouseholdsAPI,
    ReferralsAPI,
    PublicNeedsAPI,
    DirectoryAPI,
    NotificationsAPI,
    PartnerAPI,
    ProjectsAPI,
    ResourcesAPI,
    SearchAPI,
    TasksAPI,
]


def web_handlers() -> list[Any]:
    return list(WEB)


def api_handlers() -> list[Any]:
    return list(API)
