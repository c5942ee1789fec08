"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain appends its own ``func(...)`` and ``cron(...)`` entries here.
"""

from __future__ import annotations

from typing import Any

FUNCTIONS: list[Any] = []
CRON_JOBS: list[Any] = []
