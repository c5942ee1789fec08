"""Serve the app, or a minimal raw-asyncpg Litestar endpoint, for ``benchmarks/http.py --hot``.

    python benchmarks/serve.py app DATABASE_URL REDIS_URL PORT
    python benchmarks/serve.py raw DATABASE_URL - PORT

One uvicorn process each, no worker, no demo data, no search rebuild. With
``TONGXIN_BENCH_PROFILE=FILE`` the process runs under cProfile and writes its statistics to
FILE when it stops (``python -m pstats FILE``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402


def raw_app(database_url: str) -> Any:
    """One row by primary key with a bare asyncpg pool: the ceiling to compare the app with."""
    import asyncpg
    from litestar import Litestar, get

    state: dict[str, Any] = {}

    async def start() -> None:
        state["pool"] = await asyncpg.create_pool(database_url, min_size=4, max_size=10)
        state["id"] = await state["pool"].fetchval("SELECT id FROM needs ORDER BY id LIMIT 1")

    async def stop() -> None:
        await state["pool"].close()

    @get("/raw")
    async def raw() -> dict[str, Any]:
        row = await state["pool"].fetchrow(
            "SELECT id, title, state FROM needs WHERE id = $1", state["id"]
        )
        return {"id": str(row["id"]), "title": row["title"], "state": row["state"]}

    return Litestar([raw], on_startup=[start], on_shutdown=[stop])


def main() -> None:
    kind, database_url, redis_url, port = sys.argv[1:5]
    if kind == "raw":
        app = raw_app(database_url)
    else:
        from backend.app import create_app
        from backend.config import get_settings

        app = create_app(
            get_settings(), database_url=database_url, redis_url=redis_url, start_worker=False
        )
    profile = os.environ.get("TONGXIN_BENCH_PROFILE")  # a file: cProfile stats of the run
    if not profile:
        uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)
        return
    import contextlib
    import cProfile
    import signal
    from collections.abc import Iterator

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # stop on SIGTERM without re-raising it
            signal.signal(signal.SIGTERM, lambda *_: setattr(self, "should_exit", True))
            yield

    config = uvicorn.Config(
        app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False
    )
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        Server(config).run()
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


if __name__ == "__main__":
    main()
