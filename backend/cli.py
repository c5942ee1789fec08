"""``tongxin``: run | worker | db upgrade/downgrade/check | seed-demo | reindex | verify-audit.

Without ``TONGXIN_DATABASE_URL`` / ``TONGXIN_REDIS_URL`` every command starts the embedded
servers under ``var/`` and stops them when it ends (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

from backend.config import Settings, get_settings
from backend.core.embedded import EmbeddedServers

log = logging.getLogger("tongxin")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def servers(settings: Settings, *, need_redis: bool = True) -> Iterator[tuple[str, str | None]]:
    """Yield (database URL, Redis URL), starting embedded servers for what is not configured."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(settings.var_dir / "run"))
    (settings.var_dir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    embedded = EmbeddedServers(settings.var_dir)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if settings.database_url is None or (need_redis and settings.redis_url is None):
            print("Starting embedded servers under", settings.var_dir, flush=True)
        db_url, redis_url = embedded.start(
            database_url=settings.database_url,
            redis_url=settings.redis_url if need_redis else settings.redis_url or "unused://",
        )
        yield db_url, (redis_url if need_redis else settings.redis_url)
    finally:
        embedded.stop()
        signal.signal(signal.SIGTERM, previous)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from backend.core import migrate

    with servers(settings, need_redis=False) as (db_url, _):
        if args.action == "upgrade":
            migrate.upgrade(db_url, args.revision or "heads")
        elif args.action == "downgrade":
            migrate.downgrade(db_url, args.revision or "-1")
        else:
            migrate.check(db_url)
    print(f"db {args.action}: done")
    return 0


async def _seed_if_empty(db_url: str, *, force: bool = False) -> bool:
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.demo.seed import database_is_empty, seed_demo

    engine = make_engine(db_url, pool_size=2)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            if not force and not await database_is_empty(session):
                return False
            await seed_demo(session)
            return True
    finally:
        await engine.dispose()


def _print_logins(settings: Settings) -> None:
    from backend.demo.seed import demo_logins

    print("\nDemo sign-ins (local demo data only):")
    for key, email, password in demo_logins():
        print(f"  {key:<18} {email:<38} {password}")
    print(f"\nTongxin is serving on {settings.base_url}  (Ctrl-C stops everything)\n", flush=True)


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from backend.core import migrate

    with servers(settings, need_redis=False) as (db_url, _):
        migrate.upgrade(db_url)
        loaded = asyncio.run(_seed_if_empty(db_url, force=False))
        if loaded:  # the seeders write rows directly: index them once
            asyncio.run(_reindex(settings, db_url))
    print("demo data loaded" if loaded else "the database is not empty; demo data not loaded")
    if loaded:
        _print_logins(settings)
    return 0


def cmd_seed_scale(args: argparse.Namespace, settings: Settings) -> int:
    """Generated province for benchmarks (backend/demo/scale.py; docs/scale.md)."""
    from backend.core import migrate
    from backend.demo.scale import run

    with servers(settings, need_redis=False) as (db_url, _):
        migrate.upgrade(db_url)
        return asyncio.run(run(db_url, args.households, seed=args.seed, out=print))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from backend.app import create_app
    from backend.core import migrate

    port = args.port or settings.port
    if port != settings.port:
        settings = Settings.from_env(port=port, base_url=f"http://{settings.host}:{port}")
    with servers(settings) as (db_url, redis_url):
        assert redis_url is not None
        migrate.upgrade(db_url)
        from backend.search.provider import index_needs_rebuild

        stale_index = index_needs_rebuild(settings)
        if settings.load_demo_data and asyncio.run(_seed_if_empty(db_url)):
            print("Loaded the demo data into the empty database.")
            asyncio.run(_reindex(settings, db_url))  # the seeders write rows directly
        elif stale_index:
            print("The search index is missing or from an older version: rebuilding it.")
            asyncio.run(_reindex(settings, db_url))
        app = create_app(settings, database_url=db_url, redis_url=redis_url)
        _print_logins(settings)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=port,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    print("Stopped.")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from arq.worker import run_worker

    from jobs.worker import WorkerSettings

    if not settings.database_url or not settings.redis_url:
        print(
            "tongxin worker is the production worker: set TONGXIN_DATABASE_URL and TONGXIN_REDIS_URL "
            "(tongxin run starts one inside the app)",
            file=sys.stderr,
        )
        return 2
    from backend.core.queue import redis_settings

    run_worker(WorkerSettings, redis_settings=redis_settings(settings.redis_url))  # type: ignore[arg-type]
    return 0


async def _verify(
    db_url: str, *, from_seq: int = 1, to_seq: int | None = None, key: bytes | None = None
) -> int:
    from backend.audit.service import verify
    from backend.core.db import make_engine, make_sessionmaker

    engine = make_engine(db_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await verify(session, key=key, from_seq=from_seq, to_seq=to_seq)
    finally:
        await engine.dispose()
    if result.ok:
        print(f"audit log intact: {result.checked} rows verified")
        return 0
    print(
        f"audit log BROKEN at row {result.first_bad_seq}: {result.reason} "
        f"({result.checked} rows verified before it)"
    )
    return 1


def cmd_verify_audit(args: argparse.Namespace, settings: Settings) -> int:
    key = None
    if args.key_env:
        from backend.core.keys import _decode

        raw = os.environ.get(args.key_env)
        if not raw:
            print(f"{args.key_env} is not set", file=sys.stderr)
            return 2
        key = _decode(raw)
    with servers(settings, need_redis=False) as (db_url, _):
        return asyncio.run(_verify(db_url, from_seq=args.from_seq, to_seq=args.to_seq, key=key))


async def _match(db_url: str, county: str) -> int:
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.matches import repository as match_repo
    from backend.matches.models import MatchingRun, RunState
    from backend.matches.service import run_county

    engine = make_engine(db_url, pool_size=2)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            if await match_repo.county(session, county) is None:
                print(f"{county} is not a county code", file=sys.stderr)
                return 2
            run = MatchingRun(
                county_code=county, state=RunState.RUNNING, progress=10, stats={}, error=""
            )
            session.add(run)
            await session.flush()
            stats = await run_county(session, run)
    finally:
        await engine.dispose()
    print(
        f"matching run {run.id} for {county}: {stats['proposals']} proposals "
        f"({stats['needs']} needs, {stats['offers']} offers, {stats['superseded']} replaced)"
    )
    return 0


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    with servers(settings, need_redis=False) as (db_url, _):
        return asyncio.run(_match(db_url, args.county))


async def _reindex(settings: Settings, db_url: str) -> int:
    import time

    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.search import service
    from backend.search.provider import engine_from_settings, stop_search

    engine = make_engine(db_url, pool_size=2)
    search = engine_from_settings(settings)
    started = time.perf_counter()

    def progress(kind: str, count: int) -> None:
        print(f"  {kind:<9} {count:>8} documents", flush=True)

    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            count = await service.rebuild(session, search, progress)
    finally:
        await stop_search(search)
        await engine.dispose()
    elapsed = time.perf_counter() - started
    print(f"reindex: {count} documents in {elapsed:.1f}s ({settings.search_engine})", flush=True)
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    with servers(settings, need_redis=False) as (db_url, _):
        print(f"Rebuilding the {settings.search_engine} search index from the database", flush=True)
        return asyncio.run(_reindex(settings, db_url))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tongxin", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the app (embedded servers, in-process worker)")
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(func=cmd_run)
    sub.add_parser("worker", help="a standalone arq worker (production)").set_defaults(
        func=cmd_worker
    )
    db = sub.add_parser("db", help="database schema (Alembic)")
    db.add_argument("action", choices=["upgrade", "downgrade", "check"])
    db.add_argument("revision", nargs="?", default=None)
    db.set_defaults(func=cmd_db)
    sub.add_parser("seed-demo", help="load the demo data into an empty database").set_defaults(
        func=cmd_seed
    )
    scale = sub.add_parser("seed-scale", help="grow a generated province (benchmarks only)")
    scale.add_argument("--households", type=int, required=True)
    scale.add_argument("--seed", type=int, default=14)
    scale.set_defaults(func=cmd_seed_scale)
    audit = sub.add_parser("verify-audit", help="check the audit log's HMAC chain")
    audit.add_argument("--from-seq", type=int, default=1, help="first row (after a key rotation)")
    audit.add_argument("--to-seq", type=int, default=None, help="last row (an old key's segment)")
    audit.add_argument(
        "--key-env", default=None, help="environment variable holding an old audit key (base64url)"
    )
    audit.set_defaults(func=cmd_verify_audit)
    match = sub.add_parser("match", help="run matching for one county now (proposals for review)")
    match.add_argument("--county", required=True, help="county code, e.g. 330106")
    match.set_defaults(func=cmd_match)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the database")
    reindex.set_defaults(func=cmd_reindex)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    code: int = args.func(args, settings)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
