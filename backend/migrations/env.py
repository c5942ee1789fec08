"""Alembic environment: async engine, URL from the Alembic config (set by backend.core.migrate)."""

from __future__ import annotations

import asyncio
import re

from alembic import context
from sqlalchemy.engine import Connection

from backend.core.db import make_engine
from backend.models import load_all_models

config = context.config
target_metadata = load_all_models()


# Month partitions of partitioned tables (outbox_p202611, audit_log_pdefault …) are made by
# the retention job, not described by the models (backend/outbox/retention.py).
_PARTITION = re.compile(r"^(outbox|audit_log)_p(\d{6}|default)$")


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and reflected and name and _PARTITION.match(name))


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=_include_object,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "backend.core.migrate sets sqlalchemy.url"
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `tongxin db upgrade`")

connection = config.attributes.get("connection")
if connection is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
