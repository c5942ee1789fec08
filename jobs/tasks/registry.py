"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain appends its own ``func(...)`` and ``cron(...)`` entries here.
"""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []

# search: nightly full rebuild at 03:30 (server time); importing it registers the outbox handlers
from arq import cron, func  # noqa: E402

from backend.search.tasks import reindex_search  # noqa: E402

# No per-function timeout: arq keeps every in-progress key for the LONGEST function timeout, so
# a long one would delay the retry of any crashed job. The worker default (300 s) suffices.
FUNCTIONS.append(func(reindex_search, name="reindex_search", keep_result=0))
CRON_JOBS.append(
    cron(reindex_search, name="cron:reindex_search", hour={3}, minute={30}, keep_result=0)
)
