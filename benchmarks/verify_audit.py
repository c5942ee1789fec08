"""verify-audit from a checkpoint vs the whole chain.

    python benchmarks/verify_audit.py --rows 1000000 --new 10000

Builds its own database (``tongxin_bench_verify_<pid>`` on the server of
TONGXIN_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test), writes
``--rows`` valid audit entries and their chain links in bulk (COPY; each row MAC and chain hash
computed with the project's own functions, so the chain verifies), then times:

1. ``verify-audit --full`` over all of them (it records a checkpoint at the last row);
2. ``--new`` more entries written through ``record()`` and chained by the sealer;
3. ``verify-audit`` (incremental, from the checkpoint).

Prints the figures, then one JSON line. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

# benchmarks/http.py is named like the standard library's ``http``: take this folder off the
# import path so that ``import http`` finds the standard library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _rows(
    n: int, key: bytes, start_seq: int, prev: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], str]:
    from types import SimpleNamespace

    from backend.audit.service import _digest, _entry_fields, _row_mac
    from backend.core.db import utcnow

    base = utcnow() - timedelta(seconds=n // 1000 + 60)
    entries, links = [], []
    actor = uuid.uuid4()
    for i in range(n):
        entry = SimpleNamespace(
            id=uuid.uuid4(),
            occurred_at=base + timedelta(milliseconds=i),
            actor_id=actor,
            actor_kind="user:caseworker",
            action="household.revealed",
            object_type="household",
            object_id=str(uuid.uuid4()),
            region_code="330106",
            detail={"fields": ["phone"]},
        )
        fields = _entry_fields(entry)
        seq = start_seq + i
        digest = _digest(key, prev, {"seq": seq, **fields})
        entries.append(
            (
                entry.id,
                entry.occurred_at,
                entry.actor_id,
                entry.actor_kind,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.region_code,
                json.dumps(entry.detail),
                _row_mac(key, fields),
            )
        )
        links.append((seq, entry.id, base, prev, digest))
        prev = digest
    return entries, links, prev


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    from backend.audit.checkpoints import verify_chain
    from backend.audit.service import Actor, record, seal_all
    from backend.core import migrate
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.core.keys import get_keys

    server = os.environ.get(
        "TONGXIN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    base, _, _ = server.rpartition("/")
    name = f"tongxin_bench_verify_{os.getpid()}"
    admin = await asyncpg.connect(f"{base}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    figures: dict[str, Any] = {"rows": args.rows, "new_rows": args.new}
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        key = get_keys().audit
        t0 = time.monotonic()
        conn = await asyncpg.connect(url)
        try:
            prev, seq, chunk = "0" * 64, 1, 100_000
            for _ in range(0, args.rows, chunk):
                n = min(chunk, args.rows - seq + 1)
                entries, links, prev = _rows(n, key, seq, prev)
                await conn.copy_records_to_table(
                    "audit_log",
                    records=entries,
                    columns=[
                        "id",
                        "occurred_at",
                        "actor_id",
                        "actor_kind",
                        "action",
                        "object_type",
                        "object_id",
                        "region_code",
                        "detail",
                        "row_mac",
                    ],
                )
                await conn.copy_records_to_table(
                    "audit_chain",
                    records=links,
                    columns=["seq", "entry_id", "sealed_at", "prev_hash", "hash"],
                )
                seq += n
            await conn.execute("ANALYZE audit_log; ANALYZE audit_chain")
        finally:
            await conn.close()
        figures["build_s"] = round(time.monotonic() - t0, 1)
        print(f"built {args.rows} chained rows in {figures['build_s']} s", file=sys.stderr)

        engine = make_engine(url, pool_size=2)
        sessions = make_sessionmaker(engine)
        try:
            t0 = time.monotonic()
            async with unit_of_work(sessions) as session:
                full = await verify_chain(session, full=True)
            figures["full_s"] = round(time.monotonic() - t0, 2)
            figures["full_checked"] = full.result.checked
            figures["full_ok"] = full.result.ok

            t0 = time.monotonic()
            for start in range(0, args.new, 1000):
                async with unit_of_work(sessions) as session:
                    for i in range(start, min(start + 1000, args.new)):
                        await record(
                            session,
                            actor=Actor("user", uuid.uuid4()),
                            action="household.revealed",
                            object_type="household",
                            object_id=uuid.uuid4(),
                            detail={"i": i},
                        )
            async with unit_of_work(sessions) as session:
                sealed = await seal_all(session)
            figures["write_and_seal_new_s"] = round(time.monotonic() - t0, 2)
            figures["sealed"] = sealed.sealed

            t0 = time.monotonic()
            async with unit_of_work(sessions) as session:
                incremental = await verify_chain(session)
            figures["incremental_s"] = round(time.monotonic() - t0, 3)
            figures["incremental_checked"] = incremental.result.checked
            figures["incremental_ok"] = incremental.result.ok
            figures["speedup"] = (
                round(figures["full_s"] / figures["incremental_s"], 1)
                if figures["incremental_s"]
                else None
            )
        finally:
            await engine.dispose()
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"{'run':<34} {'rows':>10} {'seconds':>9}")
    print(f"{'verify-audit --full':<34} {figures['full_checked']:>10} {figures['full_s']:>9}")
    print(
        f"{'verify-audit (from checkpoint)':<34} {figures['incremental_checked']:>10}"
        f" {figures['incremental_s']:>9}"
    )
    print(f"full ok {figures['full_ok']}, incremental ok {figures['incremental_ok']}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TONGXIN_VAR_DIR", tempfile.mkdtemp(prefix="bench-verify-var-"))
    os.environ.setdefault("TONGXIN_ENV", "test")
    print(json.dumps(asyncio.run(_main(args))))


if __name__ == "__main__":
    main()
