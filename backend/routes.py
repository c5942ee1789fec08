"""Every domain's controllers, in one list each for the web pages and the JSON API."""

from __future__ import annotations

from typing import Any


def web_handlers() -> list[Any]:
    from backend.accounts.views import AccountViews, AdminViews, OrganizationViews
    from backend.fulfilment.views import (
        CaseworkerViews,
        CodeViews,
        DeliveryViews,
        SelfServiceViews,
        VisitViews,
    )
    from backend.households.views import HouseholdViews, ReferralViews
    from backend.needs.views import PublicNeedViews
    from backend.organizations.views import DirectoryViews, PortalViews
    from backend.projects.views import ProjectViews
    from backend.resources.views import ClaimViews, ResourceViews
    from backend.volunteering.views import CertificateCheckViews, TaskViews, VolunteerViews
    from backend.web.views import SiteController, healthz

    return [
        SiteController, AccountViews, OrganizationViews, AdminViews, healthz,
        HouseholdViews, ReferralViews, PublicNeedViews,
        DirectoryViews, PortalViews, ResourceViews, ClaimViews, ProjectViews, TaskViews,
        VolunteerViews, CertificateCheckViews,
        DeliveryViews, CodeViews, CaseworkerViews, VisitViews, SelfServiceViews,
    ]


def api_handlers() -> list[Any]:
    from backend.accounts.api import AccountsAPI
    from backend.households.api import HouseholdsAPI, ReferralsAPI
    from backend.needs.api import PublicNeedsAPI
    from backend.organizations.api import DirectoryAPI
    from backend.projects.api import ProjectsAPI
    from backend.resources.api import ResourcesAPI
    from backend.volunteering.api import TasksAPI

    return [AccountsAPI, HouseholdsAPI, ReferralsAPI, PublicNeedsAPI, DirectoryAPI, ResourcesAPI,
            ProjectsAPI, TasksAPI]
