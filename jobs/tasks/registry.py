"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain appends its own ``func(...)`` and ``cron(...)`` entries here.
"""

from __future__ import annotations

from typing import Any

from arq import cron, func

from backend.fulfilment.tasks import generate_quarterly_lists
from backend.households.tasks import verification_lapse
from backend.needs.tasks import expire_needs
from backend.projects.tasks import flag_overdue_projects

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []

# households and needs: daily at 01:05 / 01:15 Asia/Shanghai (17:05 / 17:15 UTC)
FUNCTIONS += [
    func(verification_lapse, name="verification_lapse", keep_result=0),
    func(expire_needs, name="expire_needs", keep_result=0),
]
CRON_JOBS += [
    cron(verification_lapse, name="cron:verification_lapse", hour={17}, minute={5}, keep_result=0),
    cron(expire_needs, name="cron:expire_needs", hour={17}, minute={15}, keep_result=0),
]

# Projects: flag executing projects without an update for 90 days (daily, 02:10 UTC).
FUNCTIONS.append(func(flag_overdue_projects, name="flag_overdue_projects", keep_result=0))
CRON_JOBS.append(
    cron(flag_overdue_projects, name="cron:flag_overdue_projects", hour={2}, minute={10}, keep_result=0)
)

# Fulfilment: quarterly 幸福清单 PDFs for a region, started by a caseworker (argument: batch id).
FUNCTIONS.append(func(generate_quarterly_lists, name="generate_quarterly_lists", keep_result=0, timeout=3600))
