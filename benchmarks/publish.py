"""Publishing a need at province scale: the publish itself, and what it does to other requests.

    python benchmarks/publish.py --households 1000,20000

For each size (a generated database, see benchmarks/benchdb.py): publishes draft needs of
verified, consenting households through ``backend.needs.service.publish`` (each in its own
transaction, rolled back so the database stays as generated), then measures a probe — the
public need detail page over HTTP, in the same process — alone and while a publisher runs
beside it. Prints a table, then as the last line one JSON object with ``publish_p95_ms``,
``probe_p95_alone_ms`` and ``probe_p95_during_ms`` (of the largest size) and every size's
figures. Figures, not pass/fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/http.py is named like the standard library's ``http`` package: take this folder
# off the import path before anything imports ``http``; load the shared helpers by file name.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

_spec = importlib.util.spec_from_file_location("benchdb", _HERE / "benchdb.py")
assert _spec is not None
assert _spec.loader is not None
benchdb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchdb)
REDIS, ensure, load, median, pct = (
    benchdb.REDIS,
    benchdb.ensure,
    benchdb.load,
    benchdb.median,
    benchdb.pct,
)

from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from backend.accounts.service import load_current_user  # noqa: E402
from backend.app import create_app  # noqa: E402
from backend.config import Settings, get_settings  # noqa: E402
from backend.core.runtime import Runtime  # noqa: E402
from backend.needs import service as needs  # noqa: E402

DRAFTS = text(
    """
    SELECT n.id, h.registered_by FROM needs n
    JOIN households h ON h.id = n.household_id
    WHERE n.state = 'draft' AND h.verified_until >= current_date AND h.status = 'active'
      AND EXISTS (SELECT 1 FROM consents c WHERE c.household_id = h.id
                  AND c.purpose = 'publish_needs' AND c.withdrawn_at IS NULL)
      AND NOT (h.member_ages && ARRAY(SELECT generate_series(0, 13))::smallint[])
    ORDER BY n.id LIMIT :n
    """
)
logging.getLogger("httpx").setLevel(logging.WARNING)
PUBLISHED = text(
    "SELECT id FROM needs WHERE state = 'published' AND hidden_reason IS NULL"
    " AND public_region_code IS NOT NULL ORDER BY id LIMIT 50"
)


async def _publish_once(rt: Runtime, need_id: uuid.UUID, user_id: uuid.UUID) -> float:
    async with rt.sessionmaker() as session:
        user = await load_current_user(session, user_id)
        assert user is not None
        started = time.perf_counter()
        await needs.publish(session, user, need_id)
        elapsed = time.perf_counter() - started
        await session.rollback()  # leave the generated database as it was
    return elapsed * 1000


async def _probe(client: Any, ids: list[uuid.UUID], count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        response = await client.get(f"/needs/{ids[i % len(ids)]}")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return times


async def measure(url: str, publishes: int, probes: int) -> dict[str, float]:
    settings = get_settings()
    rt = await Runtime.start(settings, database_url=url, redis_url=REDIS, queue_name="bench")
    try:
        async with rt.sessionmaker() as session:
            drafts = (await session.execute(DRAFTS, {"n": publishes})).all()
            ids = list((await session.scalars(PUBLISHED)).all())
        assert drafts, "no publishable draft in the generated database"
        publish_ms = [await _publish_once(rt, n, u) for n, u in drafts]
        # the test client serves the app from its own event loop: the app starts its own runtime
        app = create_app(  # the probe measures the page itself: public cache off
            Settings.from_env(public_cache_seconds=0),
            database_url=url,
            redis_url=REDIS,
            queue_name="bench",
            start_worker=False,
        )
        async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
            await _probe(client, ids, 5)  # warm up
            alone = await _probe(client, ids, probes)
            stop = asyncio.Event()

            async def publisher() -> None:
                i = 0
                while not stop.is_set():
                    need_id, user_id = drafts[i % len(drafts)]
                    await _publish_once(rt, need_id, user_id)
                    i += 1

            tasks = [asyncio.create_task(publisher()) for _ in range(2)]
            during = await _probe(client, ids, probes)
            stop.set()
            await asyncio.gather(*tasks)
    finally:
        await rt.close()
    return {
        "publishes": len(publish_ms),
        "publish_median_ms": round(median(publish_ms), 1),
        "publish_p95_ms": round(pct(publish_ms, 95), 1),
        "probe_median_alone_ms": round(median(alone), 1),
        "probe_p95_alone_ms": round(pct(alone, 95), 1),
        "probe_median_during_ms": round(median(during), 1),
        "probe_p95_during_ms": round(pct(during, 95), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", default="1000,20000", help="comma-separated sizes")
    ap.add_argument("--publishes", type=int, default=40)
    ap.add_argument("--probes", type=int, default=60)
    args = ap.parse_args()
    sizes = [int(x) for x in args.households.split(",")]
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        url = ensure(size)
        results[size] = asyncio.run(measure(url, args.publishes, args.probes))
    keys = list(next(iter(results.values())))
    print(f"{'figure':<24}" + "".join(f"{s:>12}" for s in sizes))
    for key in keys:
        print(f"{key:<24}" + "".join(f"{results[s][key]:>12}" for s in sizes))
    print(f"load average: {load()}")
    big = results[sizes[-1]]
    summary = {
        "households": sizes,
        "publish_p95_ms": big["publish_p95_ms"],
        "probe_p95_alone_ms": big["probe_p95_alone_ms"],
        "probe_p95_during_ms": big["probe_p95_during_ms"],
        "by_size": {str(s): r for s, r in results.items()},
        "load": load(),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
