"""A test-only outbox subscriber for ``tests/test_topology.py``.

The topology test starts real ``tongxin worker`` processes with this module imported first:
every event any worker handles adds one row (event id, worker pid) to the table named by
``TONGXIN_TOPOLOGY_PROBE_TABLE``, in the job's own transaction. The row is not unique on
purpose: an event handled twice leaves two rows, one never handled leaves none.
"""

from __future__ import annotations

import os
import re

from sqlalchemy import text

from backend.core.events import HandlerContext, subscribe
from backend.outbox.models import OutboxEvent

_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def table_name() -> str:
    name = os.environ["TONGXIN_TOPOLOGY_PROBE_TABLE"]
    if not _TABLE.match(name):
        raise ValueError(f"not a table name: {name!r}")
    return name


async def record_handling(ctx: HandlerContext, event: OutboxEvent) -> None:
    await ctx.session.execute(
        text(f"INSERT INTO {table_name()} (event_id, pid) VALUES (:event_id, :pid)"),
        {"event_id": event.id, "pid": os.getpid()},
    )


def install() -> None:
    table_name()
    subscribe("*")(record_handling)


def run_worker() -> int:
    """``tongxin worker`` with the probe subscribed (the subprocess's entry point)."""
    install()
    from backend.cli import main

    return main(["worker"])


if __name__ == "__main__":
    raise SystemExit(run_worker())
