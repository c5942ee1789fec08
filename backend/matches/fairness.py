"""Fairness monitor: who gets help repeatedly, who never, how long needs wait, open emergencies.

Counts of households are small-number suppressed wherever they can be seen outside the
coordinators' own work: :func:`public_count` shows anything under 11 as "<11".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.identity import CurrentUser
from backend.core.db import utcnow
from backend.core.i18n import N_
from backend.matches import repository as repo
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
    households: list[int] = field(default_factory=lambda: [0, 0, 0])
    waiting: list[int] = field(default_factory=lambda: [0, 0, 0, 0])


@dataclass(frozen=True)
class Report:
    counties: list[CountyRow]
    emergencies: Sequence[Need]
    emergencies_total: int
    period_days: int


async def report(session: AsyncSession, user: CurrentUser) -> Report:
    scope = coordinator_scope(user)
    now = utcnow()
    rows: dict[str, CountyRow] = {}

    def row(code: str) -> CountyRow:
        if code not in rows:
            rows[code] = CountyRow(code, code)
        return rows[code]

    for code, bucket, n in await repo.help_distribution(
        session, scope, now - timedelta(days=PERIOD_DAYS)
    ):
        row(code).households[bucket] += n
    for code, bucket, n in await repo.waiting_distribution(session, scope, now):
        row(code).waiting[bucket] += n
    names = await repo.region_names(session, list(rows))
    for code, county_row in rows.items():
        if code in names:
            county_row.name = names[code].name
    emergencies, total = await repo.unmatched_emergencies(session, scope)
    return Report(sorted(rows.values(), key=lambda r: r.code), emergencies, total, PERIOD_DAYS)
