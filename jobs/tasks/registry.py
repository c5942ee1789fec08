"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain appends its own ``func(...)`` and ``cron(...)`` entries here.
"""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []

# matches: one county's run (on demand and nightly), and stale proposals expiring.
from arq import cron, func  # noqa: E402 - each domain appends its own block

from backend.matches.tasks import expire_matches, matching_nightly, run_matching  # noqa: E402

FUNCTIONS += [func(run_matching, name="run_matching", keep_result=0, max_tries=3)]
CRON_JOBS += [
    cron(matching_nightly, name="cron:matching_nightly", hour={2}, minute={30}, keep_result=0),
    cron(expire_matches, name="cron:expire_matches", minute={5}, keep_result=0),
]
# donations: pledge expiry (hourly) and the daily Stripe reconciliation
from backend.donations import tasks as _donations  # noqa: E402

FUNCTIONS += _donations.FUNCTIONS
CRON_JOBS += _donations.CRON_JOBS
