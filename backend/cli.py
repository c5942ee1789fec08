"""``tongxin``: run | worker | db | seed-demo | reindex | match | verify-audit | backup | restore.

Without ``TONGXIN_DATABASE_URL`` / ``TONGXIN_REDIS_URL`` every command starts the embedded
servers under ``var/`` and stops them when it ends (also on Ctrl-C or SIGTERM). Each command
ends with a one-line summary and exit status 0, or a one-line message on stderr and a non-zero
status for an expected failure (:func:`expected_failure`); command bodies live in ``backend.ops``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from backend.config import Settings, get_settings
from backend.core.embedded import EmbeddedServers, EmbeddedUnavailable
from backend.models import load_all_models

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


async def _demo_accounts_refusal(settings: Settings, db_url: str) -> str | None:
    """A production start (not plain-http localhost) refuses while demo accounts exist."""
    if settings.load_demo_data or settings.allow_demo_accounts or not settings.cookies_secure:
        return None
    from backend.core.db import make_engine, make_sessionmaker
    from backend.demo.seed import demo_accounts_present

    engine = make_engine(db_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            present = await demo_accounts_present(session)
    finally:
        await engine.dispose()
    if not present:
        return None
    return (
        "Refusing to start: the database holds the demo accounts, whose password is published,"
        f" and {settings.base_url} is not a local address. Delete those accounts, or set"
        " TONGXIN_ALLOW_DEMO_ACCOUNTS=true if this really is a demonstration server."
    )


def _print_logins(settings: Settings, db_url: str | None = None, *, serving: bool = True) -> None:
    from backend.demo.seed import demo_logins

    if settings.load_demo_data or not serving:  # `make run`, or `tongxin seed-demo`
        print("\nDemo sign-ins (local demo data only):")
        for key, email, password in demo_logins():
            print(f"  {key:<18} {email:<38} {password}")
    household = asyncio.run(_demo_household(db_url)) if db_url else None
    if household:  # only when this database holds the demo household's fixed code
        code, pin = household
        print(f"  {'household (幸福码)':<16} code {code:<33} PIN {pin}")
        print(f"  {'':<18} {settings.base_url}/my (or confirm a delivery as org_member)")
    if serving:
        print(
            f"\nTongxin is serving on {settings.base_url}  (Ctrl-C stops everything)\n", flush=True
        )


async def _demo_household(db_url: str) -> tuple[str, str] | None:
    from backend.core.db import make_engine, make_sessionmaker
    from backend.demo.households import demo_household_sign_in

    engine = make_engine(db_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            return await demo_household_sign_in(session)
    finally:
        await engine.dispose()


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from backend.core import migrate

    with servers(settings, need_redis=False) as (db_url, _):
        migrate.upgrade(db_url)
        loaded = asyncio.run(_seed_if_empty(db_url, force=False))
        if loaded:  # the seeders write rows directly: index them once
            asyncio.run(_reindex(settings, db_url))
        print("demo data loaded" if loaded else "the database is not empty; demo data not loaded")
        if loaded:  # while the (embedded) server still runs: the demo household is read from it
            _print_logins(settings, db_url, serving=False)
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

        if refusal := asyncio.run(_demo_accounts_refusal(settings, db_url)):
            print(refusal, file=sys.stderr)
            return 2
        stale_index = index_needs_rebuild(settings)
        if settings.load_demo_data and asyncio.run(_seed_if_empty(db_url)):
            print("Loaded the demo data into the empty database.")
            asyncio.run(_reindex(settings, db_url))  # the seeders write rows directly
        elif stale_index:
            print("The search index is missing or from an older version: rebuilding it.")
            asyncio.run(_reindex(settings, db_url))
        _print_logins(settings, db_url)
        if args.workers > 1:
            # uvicorn's supervisor: N processes on one socket, each building the app from the
            # environment (backend.app.app_from_env); a process that dies is replaced.
            os.environ.update(
                TONGXIN_DATABASE_URL=db_url,
                TONGXIN_REDIS_URL=redis_url,
                TONGXIN_PORT=str(port),
                TONGXIN_BASE_URL=settings.base_url,
            )
            get_settings.cache_clear()
            with contextlib.suppress(KeyboardInterrupt):
                uvicorn.run(
                    "backend.app:app_from_env",
                    factory=True,
                    workers=args.workers,
                    host=settings.host,
                    port=port,
                    log_level=settings.log_level.lower(),
                    proxy_headers=True,
                    lifespan="on",
                )
        else:
            app = create_app(settings, database_url=db_url, redis_url=redis_url)
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

    # SIGTERM while jobs ran: arq cancels them (their transactions roll back) and they return
    # to another worker after the in-progress lease; a normal stop, not a crash
    with contextlib.suppress(asyncio.CancelledError):
        run_worker(
            WorkerSettings,  # type: ignore[arg-type]
            redis_settings=redis_settings(settings.redis_url),
            queue_name=settings.queue_name,
            job_timeout=settings.job_timeout_seconds,
        )
    print("Stopped.")
    return 0


def cmd_verify_audit(args: argparse.Namespace, settings: Settings) -> int:
    from backend.audit.commands import verify_command
    from backend.core.keys import _decode

    keys: dict[str, bytes] = {}
    for name in filter(None, (args.key_env, args.checkpoint_key_env)):
        raw = os.environ.get(name)
        if not raw:
            print(f"{name} is not set", file=sys.stderr)
            return 2
        keys[name] = _decode(raw)
    previous = (keys[args.checkpoint_key_env],) if args.checkpoint_key_env else ()
    with servers(settings, need_redis=False) as (db_url, _):
        return asyncio.run(
            verify_command(
                db_url,
                full=args.full,
                from_seq=args.from_seq,
                to_seq=args.to_seq,
                key=keys.get(args.key_env) if args.key_env else None,
                previous_keys=previous,
            )
        )


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    from backend.ops.matching import match_counties, summary

    with servers(settings, need_redis=False) as (db_url, _):
        results = asyncio.run(match_counties(db_url, None if args.all else args.county))
    if len(results) > 1:
        for result in results:
            print(result.line())
    print(summary(results))
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from backend.ops.backup import backup

    with servers(settings, need_redis=False) as (db_url, _):
        result = backup(settings, db_url, args.directory)
    print(result.line())
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from backend.ops.backup import restore

    with servers(settings, need_redis=False) as (db_url, _):
        result = restore(settings, db_url, args.directory, force=args.force)
        asyncio.run(_reindex(settings, db_url))  # the search index is derived: rebuild it
    print(result.line())
    return 0


async def _reindex(settings: Settings, db_url: str) -> int:
    import time

    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.search import service
    from backend.search.provider import engine_from_settings

    engine = make_engine(db_url, pool_size=2)
    search = engine_from_settings(settings)
    started = time.perf_counter()

    def progress(kind: str, count: int) -> None:
        print(f"  {kind:<9} {count:>8} documents", flush=True)

    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            count = await service.rebuild(session, search, progress)
    finally:
        await search.close()
        await engine.dispose()
    elapsed = time.perf_counter() - started
    print(f"reindex: {count} documents in {elapsed:.1f}s ({settings.search_engine})", flush=True)
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    with servers(settings, need_redis=False) as (db_url, _):
        print(f"Rebuilding the {settings.search_engine} search index from the database", flush=True)
        return asyncio.run(_reindex(settings, db_url))


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from backend.outbox.commands import outbox_command

    with servers(settings, need_redis=False) as (db_url, _):
        return asyncio.run(outbox_command(db_url, args.action, settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tongxin", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the app (embedded servers, in-process worker)")
    run.add_argument("--port", type=int, default=None)
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="web processes on one socket (production: with TONGXIN_WORKER_IN_PROCESS=false)",
    )
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
    audit.add_argument(
        "--full", action="store_true", help="the whole chain, not from the last checkpoint"
    )
    audit.add_argument(
        "--checkpoint-key-env",
        default=None,
        help="variable holding the previous audit key (rotation)",
    )
    audit.set_defaults(func=cmd_verify_audit)
    match = sub.add_parser("match", help="run matching now (proposals for review)")
    which = match.add_mutually_exclusive_group(required=True)
    which.add_argument("--county", help="county code, e.g. 330106")
    which.add_argument("--all", action="store_true", help="every county the nightly run covers")
    match.set_defaults(func=cmd_match)
    backup = sub.add_parser("backup", help="database dump, uploads and key files into DIR")
    backup.add_argument("directory", type=Path, metavar="DIR", help="a new or empty directory")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup made by tongxin backup")
    restore.add_argument("directory", type=Path, metavar="DIR")
    restore.add_argument(
        "--force", action="store_true", help="replace a non-empty database, uploads and keys"
    )
    restore.set_defaults(func=cmd_restore)
    outbox = sub.add_parser("outbox", help="pending/failed events; retention now")
    outbox.add_argument("action", choices=["status", "retention"])
    outbox.set_defaults(func=cmd_outbox)
    reindex = sub.add_parser("reindex", help="rebuild the search index from the database")
    reindex.set_defaults(func=cmd_reindex)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    load_all_models()  # the same complete metadata as the app (foreign keys across domains)
    try:
        code: int = args.func(args, settings)
    except EmbeddedUnavailable as exc:
        print(f"tongxin: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        failure = expected_failure(exc)
        if failure is None:
            raise
        message, code = failure
        print(f"tongxin {args.command}: {message}", file=sys.stderr)
    return code


def expected_failure(exc: BaseException) -> tuple[str, int] | None:
    """(one-line message, exit status) for a failure the operator can fix; None for a bug."""
    from backend.core.errors import DomainError
    from backend.ops import OpsError
    from backend.privacy.crypto import KeyFileError

    alembic_exc = sys.modules.get("alembic.util.exc")  # imported only by the db commands
    if isinstance(exc, OpsError):
        return str(exc), exc.exit_code
    if isinstance(exc, DomainError):
        return exc.message.format(**exc.params), 2
    if alembic_exc is not None and isinstance(exc, alembic_exc.AutogenerateDiffsDetected):
        return "the models and the migrations differ: " + _one_line(exc), 1
    if alembic_exc is not None and isinstance(exc, alembic_exc.CommandError):
        return _one_line(exc), 2
    if isinstance(exc, KeyFileError):
        return _one_line(exc), 2
    cause = _connection_failure(exc)
    if cause is not None:
        return f"cannot connect: {_one_line(cause)}", 3
    return None


# asyncpg's errors for a connection PostgreSQL refused (matched by name: asyncpg is untyped)
_PG_CONNECT_ERRORS = {
    "InvalidCatalogNameError",
    "InvalidAuthorizationSpecificationError",
    "InvalidPasswordError",
    "CannotConnectNowError",
    "TooManyConnectionsError",
}


def _connection_failure(exc: BaseException) -> BaseException | None:
    """The refused or failed connection (PostgreSQL or Redis) behind ``exc``, if that is it."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BrokenPipeError):  # stdout closed (| head): not a connection
            return None
        if isinstance(
            current, (ConnectionError, TimeoutError, socket.gaierror, RedisConnectionError)
        ) or (
            type(current).__module__.startswith("asyncpg")
            and type(current).__name__ in _PG_CONNECT_ERRORS
        ):
            return current
        current = current.__cause__ or current.__context__
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


if __name__ == "__main__":
    raise SystemExit(main())
