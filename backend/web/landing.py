"""Where each role lands after signing in, and where the header's "My work" link leads.

ONE table: the first row whose role the user holds wins, so list the roles whose start page is
the most specific first. A user with none of these roles lands on the home page. Each start
page must be reachable for that role (``tests/test_navigation.py`` crawls from it).
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role

LANDING: tuple[tuple[Role, str], ...] = (
    (Role.CASEWORKER, "/work"),  # backend/web/work.py: the caseworker's start page
    (Role.COORDINATOR, "/coordination/dashboard"),  # backend/dashboard: the county's figures
    (Role.AUDITOR, "/audit"),  # backend/audit/views.py: the audit log and its reports
)
DEFAULT_LANDING = "/"


def landing_for_roles(roles: Iterable[Role]) -> str:
    held = set(roles)
    for role, path in LANDING:
        if role in held:
            return path
    return DEFAULT_LANDING


def landing_for(user: CurrentUser | None) -> str:
    """The user's start page ("/" when signed out or without a role that has one)."""
    if user is None:
        return DEFAULT_LANDING
    return landing_for_roles(scope.role for scope in user.roles)
