"""``tongxin outbox status|retention``: what is pending or failed, and retention run now."""

from __future__ import annotations

import sys

from backend.config import Settings


async def outbox_command(db_url: str, action: str, settings: Settings) -> int:
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.outbox.retention import outbox_status, run_retention

    engine = make_engine(db_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        if action == "retention":
            report = await run_retention(
                lambda: unit_of_work(sessions),
                retention_days=settings.outbox_retention_days,
                audit_retention_months=settings.audit_retention_months,
            )
            sys.stdout.write(f"retention done: {report.summary()}\n")
            return 0
        async with sessions() as session:
            status = await outbox_status(session)
    finally:
        await engine.dispose()
    sys.stdout.write("".join(f"{line}\n" for line in status.lines()))
    return 1 if status.counts.get("failed") else 0
