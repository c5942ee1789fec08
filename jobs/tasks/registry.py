"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain appends its own ``func(...)`` and ``cron(...)`` entries here.
"""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []

# donations: pledge expiry (hourly) and the daily Stripe reconciliation
from backend.donations import tasks as _donations  # noqa: E402

FUNCTIONS += _donations.FUNCTIONS
CRON_JOBS += _donations.CRON_JOBS
