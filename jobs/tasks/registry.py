"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain appends its own ``func(...)`` and ``cron(...)`` entries here.
"""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []

# Projects: flag executing projects without an update for 90 days (daily, 02:10 UTC).
from arq import cron, func  # noqa: E402

from backend.projects.tasks import flag_overdue_projects  # noqa: E402

FUNCTIONS.append(func(flag_overdue_projects, name="flag_overdue_projects", keep_result=0))
CRON_JOBS.append(
    cron(
        flag_overdue_projects,
        name="cron:flag_overdue_projects",
        hour={2},
        minute={10},
        keep_result=0,
    )
)
