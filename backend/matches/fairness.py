"""Fairness monitor: who gets help repeatedly, who never, how long needs wait, open emergencies.

The figures are maintained by outbox handlers (``backend/matches/figures.py``), not counted per
request. Staff of a county (its coordinators and caseworkers) see its true counts; anyone else
the page lets in (an administrator over the province) sees small numbers suppressed:
:func:`public_count` shows anything under 11 as "<11".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.accounts.models import Role
from backend.core.db import utcnow
from backend.core.i18n import N_
from backend.matches import repository as repo
from backend.matches.figures import local_day
from backend.matches.service import coordinator_scope
from backend.needs.models import Need

SUPPRESS_BELOW = 11
HELP_BUCKETS = (N_("Never helped"), N_("Helped once"), N_("Helped repeatedly"))
WAIT_LABELS = (N_("0–7 days"), N_("8–30 days"), N_("31–90 days"), N_("over 90 days"))
PERIOD_DAYS = 365


def public_count(n: int, threshold: int = SUPPRESS_BELOW) -> str:
    """A count as it may be shown publicly: below ``threshold`` (0 included) it reads "<11"."""
    if n < 0:
        raise ValueError("counts are never negative")
    return f"<{threshold}" if n < threshold else str(n)


@dataclass
class CountyRow:
    code: str
    name: str
    #: the viewer is on this county's staff: true counts, no suppression
    exact: bool = False
    households: list[int] = field(default_factory=lambda: [0, 0, 0])
    waiting: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def shown(self, n: int) -> str:
        return str(n) if self.exact else public_count(n)


@dataclass(frozen=True)
class Report:
    counties: list[CountyRow]
    emergencies: Sequence[Need]
    emergencies_total: int
    period_days: int


def on_staff(user: CurrentUser, county_path: str) -> bool:
    """Coordinators and caseworkers of the county (or of a region above it) are its staff."""
    return user.covers(Role.COORDINATOR, county_path) or user.covers(Role.CASEWORKER, county_path)


async def report(session: AsyncSession, user: CurrentUser) -> Report:
    scope = coordinator_scope(user)
    figures = await repo.fairness_figures(
        session, scope, local_day(utcnow()), period_days=PERIOD_DAYS
    )
    regions = await repo.region_names(session, [f.county_code for f in figures])
    rows: list[CountyRow] = []
    for f in figures:
        region = regions.get(f.county_code)
        rows.append(
            CountyRow(
                f.county_code,
                region.name if region else f.county_code,
                exact=region is not None and on_staff(user, region.path),
                households=[
                    f.households - f.helped_once_or_more,
                    f.helped_once_or_more - f.helped_twice_or_more,
                    f.helped_twice_or_more,
                ],
                waiting=list(f.waiting),
            )
        )
    emergencies, total = await repo.unmatched_emergencies(session, scope)
    return Report(rows, emergencies, total, PERIOD_DAYS)
