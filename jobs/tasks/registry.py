"""Task functions and cron jobs of the domains, collected for WorkerSettings.

Each domain adds its own block. Cron times are UTC (Asia/Shanghai is UTC+8).
"""

from __future__ import annotations

from typing import Any

from arq import cron, func

from backend.audit import tasks as audit_tasks
from backend.donations import tasks as donations_tasks
from backend.fulfilment.tasks import generate_quarterly_lists
from backend.grievance.tasks import escalate_reports
from backend.households.tasks import verification_lapse
from backend.matches.tasks import expire_matches, matching_nightly, run_matching
from backend.needs.tasks import expire_needs
from backend.notifications import tasks as notification_tasks
from backend.outbox import tasks as outbox_tasks
from backend.projects.tasks import flag_overdue_projects
from backend.search.tasks import reindex_search

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

# matches: one county's run (on demand and nightly), and stale proposals expiring.
FUNCTIONS += [func(run_matching, name="run_matching", keep_result=0, max_tries=3)]
CRON_JOBS += [
    cron(matching_nightly, name="cron:matching_nightly", hour={2}, minute={30}, keep_result=0),
    cron(expire_matches, name="cron:expire_matches", minute={5}, keep_result=0),
]

# donations: pledge expiry (hourly) and the daily Stripe reconciliation
FUNCTIONS += donations_tasks.FUNCTIONS
CRON_JOBS += donations_tasks.CRON_JOBS

# search: nightly full rebuild at 03:30 UTC. No per-function timeout: arq keeps every
# in-progress key for the LONGEST function timeout, so a long one would delay the retry of any
# crashed job; the worker default (300 s) suffices.
FUNCTIONS.append(func(reindex_search, name="reindex_search", keep_result=0))
CRON_JOBS.append(
    cron(reindex_search, name="cron:reindex_search", hour={3}, minute={30}, keep_result=0)
)

# projects: flag executing projects without an update for 90 days (daily, 02:10 UTC)
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

# fulfilment: the quarterly 幸福清单 PDFs of a region, in bulk (on demand by a caseworker).
# The worker's default timeout applies: a per-function timeout would also delay the retry of
# every crashed job (arq keeps in-progress keys for the longest timeout).
FUNCTIONS.append(func(generate_quarterly_lists, name="generate_quarterly_lists", keep_result=0))

# grievance: reports past their working-day deadlines escalate (every 15 minutes)
FUNCTIONS.append(func(escalate_reports, name="escalate_reports", keep_result=0))
CRON_JOBS.append(
    cron(
        escalate_reports,
        name="cron:escalate_reports",
        minute={2, 17, 32, 47},
        keep_result=0,
    )
)
# notifications: sending after commit, daily digests, review SLA and reminders (issue 18)
FUNCTIONS += notification_tasks.FUNCTIONS
CRON_JOBS += notification_tasks.CRON_JOBS
# audit: the chain's sealer, after every audited commit and swept every minute.
FUNCTIONS += audit_tasks.FUNCTIONS
CRON_JOBS += audit_tasks.CRON_JOBS

# outbox: daily retention (partitions ahead, handled events out, old audit months if set).
FUNCTIONS += outbox_tasks.FUNCTIONS
CRON_JOBS += outbox_tasks.CRON_JOBS
