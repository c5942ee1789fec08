"""Audited writes under concurrency: claims, reveals and door confirmations through the real
services, with 1, 4 and 16 concurrent clients, beside plain INSERT transactions in the same run.

    python benchmarks/writes.py --households 1000 [--seconds 10] [--processes 4] [--scale 100000]

Builds its own database (``tongxin_bench_writes_<pid>`` on the server of
TONGXIN_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test; Redis from
TONGXIN_BENCH_REDIS_URL, default redis://127.0.0.1:6379/2), migrates it, loads the demo data and
``--households`` households (each with a consent, a need open for claims and deliveries ready
to confirm) through the project's factories and services, then runs each level for
``--seconds``. Each operation is one committed transaction, as a request would be; the audit
sealer runs beside the clients as the worker would. With ``--processes P`` the 4 and 16 clients
are spread over P processes (as several app workers would serve them), each with its own
connections and sealer: one Python process is bound by its own CPU long before the database.
Beside each level a sampler reads pg_stat_activity every 0.1 s: the share of active backends
waiting for a lock (advisory = the sealers' lock; business transactions never take it) and the
share of in-transaction backends idle, waiting for their client (Python) to go on. Beside each
level the CPU it cost, from the client process(es) (``time.process_time``) and from this
database's PostgreSQL backends (``/proc/<pid>/stat``; the server runs on this machine): CPU ms
per committed transaction and cores kept busy. With one client's CPU per transaction the
machine's cores bound the throughput any number of clients could reach (``cpu_ceiling_tput``)
and so the scaling (``scaling_limit`` = ceiling / one client's throughput).

``--scale N`` runs inside a copy of the generated province ``<TONGXIN_BENCH_DB_PREFIX>N``
(``tongxin_scale_N``, made by ``tongxin seed-scale``, see benchmarks/benchdb.py; use the
``TONGXIN_VAR_DIR`` it was seeded with): the pool's households are added to a county of a
province-sized database instead of an empty one.

Prints a table, then one JSON line with ``tput_1``, ``tput_4``, ``tput_16``, ``plain_tput_16``,
``deadlocks``, the CPU figures and the load average. Figures, not pass/fail.

tests/audit/test_chain_concurrency.py reuses :func:`build_pool`, :func:`run_mix` and the
operations below.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# benchmarks/http.py is named like the standard library's ``http``: take this folder off the
# import path so that ``import http`` finds the standard library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from backend.accounts.identity import CurrentUser  # noqa: E402
from backend.accounts.service import load_current_user  # noqa: E402
from backend.audit.service import seal, seal_all, verify  # noqa: E402
from backend.core.errors import DomainError  # noqa: E402
from backend.core.storage import LocalStorage  # noqa: E402
from backend.demo.organizations import make_household, make_published_need  # noqa: E402
from backend.fulfilment import service as fulfilment  # noqa: E402
from backend.fulfilment.models import Delivery, Fulfilment  # noqa: E402
from backend.households import service as households  # noqa: E402
from backend.households.models import Consent, ConsentPurpose  # noqa: E402
from backend.needs.models import Need  # noqa: E402
from backend.resources import service as resources  # noqa: E402

CLAIM_STOCK = 1_000_000  # units of each household's claimable need: claims never run out


@dataclass
class Pool:
    """Prepared targets; ``deliveries`` are consumed by confirmations."""

    member: CurrentUser
    caseworker: CurrentUser
    organization_id: uuid.UUID
    households: list[uuid.UUID]
    claim_need: dict[uuid.UUID, uuid.UUID]
    consent: dict[uuid.UUID, uuid.UUID]
    deliveries: dict[uuid.UUID, list[uuid.UUID]]
    storage: Any = None
    codes: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)  # token, PIN
    to_withdraw: list[uuid.UUID] = field(default_factory=list)

    def take_delivery(self, rng: random.Random) -> uuid.UUID | None:
        for _ in range(8):
            ready = self.deliveries.get(rng.choice(self.households))
            if ready:
                return ready.pop()
        for ready in self.deliveries.values():
            if ready:
                return ready.pop()
        return None


async def _user(session: AsyncSession, user_id: uuid.UUID) -> CurrentUser:
    user = await load_current_user(session, user_id)
    assert user is not None
    return user


async def build_pool(
    runtime: Any,
    ids: dict[str, Any],
    *,
    households: int,
    deliveries_each: int = 2,
    batch: int = 50,
    region_code: str = "330106",
) -> Pool:
    """``households`` households of the demo caseworker's county, each with its publication
    consent, a need open for claims, and a claimed need with ``deliveries_each`` recorded
    deliveries waiting for confirmation. Everything through the factories and services."""
    storage = LocalStorage(Path(tempfile.mkdtemp(prefix="bench-writes-")))
    async with runtime.transaction() as session:
        member = await _user(session, ids["org_member"])
        caseworker = await _user(session, ids["caseworker"])
    org = ids["org:charity"]
    pool = Pool(member, caseworker, org, [], {}, {}, {}, storage)
    for start in range(0, households, batch):
        async with runtime.transaction() as session:
            for _ in range(min(batch, households - start)):
                household = await make_household(
                    session, registered_by=caseworker.id, region_code=region_code
                )
                open_need = await make_published_need(
                    session,
                    household=household,
                    created_by=caseworker.id,
                    quantity=CLAIM_STOCK,
                    unit="件",
                )
                delivered = await make_published_need(
                    session,
                    household=household,
                    created_by=caseworker.id,
                    quantity=deliveries_each,
                    unit="件",
                )
                claim = await resources.claim_need(
                    session,
                    member,
                    need_id=delivered.id,
                    organization_id=org,
                    quantity=deliveries_each,
                )
                opened = await fulfilment.open_for_claim(session, member, claim.id)
                ready = []
                for _ in range(deliveries_each):
                    delivery = await fulfilment.record_delivery(
                        session,
                        member,
                        opened.id,
                        fulfilment.DeliveryIn(fulfilment.today_local(), "送达一件", 1),
                        photos=[],
                        storage=storage,
                    )
                    ready.append(delivery.id)
                consent = await session.scalar(
                    select(Consent.id).where(
                        Consent.household_id == household.id,
                        Consent.purpose == ConsentPurpose.PUBLISH_NEEDS,
                    )
                )
                assert consent is not None
                pool.households.append(household.id)
                pool.claim_need[household.id] = open_need.id
                pool.consent[household.id] = consent
                pool.deliveries[household.id] = ready
    async with runtime.transaction() as session:
        await seal_all(session)
    return pool


# ------------------------------------------------------------------ operations
# Each runs in its own committed transaction (``session``), as one request would.

Op = Callable[[AsyncSession, Pool, random.Random], Awaitable[str]]


async def op_claim(session: AsyncSession, pool: Pool, rng: random.Random) -> str:
    need = pool.claim_need[rng.choice(pool.households)]
    await resources.claim_need(
        session, pool.member, need_id=need, organization_id=pool.organization_id, quantity=1
    )
    return "claim"


async def op_reveal(session: AsyncSession, pool: Pool, rng: random.Random) -> str:
    await households.reveal(session, pool.caseworker, rng.choice(pool.households), ["phone"])
    return "reveal"


async def op_confirm(session: AsyncSession, pool: Pool, rng: random.Random) -> str:
    delivery = pool.take_delivery(rng)
    if delivery is None:
        return "confirm:none_left"
    await fulfilment.confirm_by_caseworker(
        session, pool.caseworker, delivery, reason="told_by_phone"
    )
    return "confirm"


async def op_door(session: AsyncSession, pool: Pool, rng: random.Random) -> str:
    """Door confirmation with the household's 幸福码 and PIN (codes issued by the caller)."""
    delivery = pool.take_delivery(rng)
    if delivery is None:
        return "door:none_left"
    household = await session.scalar(
        select(Need.household_id)
        .join(Fulfilment, Fulfilment.need_id == Need.id)
        .join(Delivery, Delivery.fulfilment_id == Fulfilment.id)
        .where(Delivery.id == delivery)
    )
    assert household is not None
    code, pin = pool.codes[household]
    # each client its own address: the per-address wrong-PIN limit is not what is measured
    await fulfilment.confirm_with_code(
        session, pool.member, delivery, code, pin, client_ip=f"127.0.0.{rng.randrange(2, 250)}"
    )
    return "door"


async def op_withdraw(session: AsyncSession, pool: Pool, rng: random.Random) -> str:
    """Withdraw a household's publication consent once (its published needs go back to draft
    while claims on them and confirmations of its deliveries race it)."""
    if not pool.to_withdraw:
        return "withdraw:none_left"
    household = pool.to_withdraw.pop(rng.randrange(len(pool.to_withdraw)))
    await households.withdraw_consent(session, pool.caseworker, household, pool.consent[household])
    return "withdraw"


MIX: Sequence[Op] = (op_claim, op_reveal, op_confirm)


# ------------------------------------------------------------------ runner


@dataclass
class Run:
    clients: int
    seconds: float
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    deadlocks: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    sealed: int = 0
    client_cpu_s: float = 0.0  # CPU of the client process(es): services, SQLAlchemy, sealer
    db_cpu_s: float = 0.0  # CPU of this database's PostgreSQL backends during the run

    def cpu_ms_per_op(self) -> float:
        return (
            (self.client_cpu_s + self.db_cpu_s) / self.committed * 1000 if self.committed else 0.0
        )

    @property
    def committed(self) -> int:
        return sum(v for k, v in self.done.items() if ":" not in k)

    @property
    def tput(self) -> float:
        return self.committed / self.seconds

    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0

    def p95_ms(self) -> float:
        if len(self.latencies) < 2:
            return self.p50_ms()
        return statistics.quantiles(self.latencies, n=20)[-1] * 1000


async def run_mix(
    runtime: Any,
    pool: Pool,
    *,
    clients: int,
    seconds: float,
    ops: Sequence[Op] = MIX,
    seed: int = 1,
    seal_every: float = 0.2,
) -> Run:
    """``clients`` concurrent clients cycle through ``ops`` for ``seconds``; one sealer beside
    them, as the worker would run it after each commit."""
    run = Run(clients, seconds)
    deadline = time.monotonic() + seconds
    stop = asyncio.Event()

    async def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        i = n
        while time.monotonic() < deadline:
            op = ops[i % len(ops)]
            i += 1
            started = time.monotonic()
            try:
                async with runtime.transaction() as session:
                    name = await op(session, pool, rng)
            except DomainError as exc:
                run.refused[f"{op.__name__}:{type(exc).__name__}"] += 1
                continue
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) == "40P01" or "deadlock" in str(exc):
                    run.deadlocks += 1
                else:
                    run.errors.append(f"{op.__name__}: {exc}"[:300])
                continue
            except Exception as exc:
                run.errors.append(f"{op.__name__}: {type(exc).__name__}: {exc}"[:300])
                continue
            run.latencies.append(time.monotonic() - started)
            run.done[name] += 1

    async def sealer() -> None:
        while not stop.is_set():
            async with runtime.transaction() as session:
                run.sealed += (await seal(session)).sealed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seal_every)

    sealing = asyncio.create_task(sealer())
    started = time.monotonic()
    cpu_before = time.process_time()
    await asyncio.gather(*(client(n) for n in range(clients)))
    run.seconds = time.monotonic() - started
    stop.set()
    await sealing
    run.client_cpu_s = time.process_time() - cpu_before
    return run


_TICKS = os.sysconf("SC_CLK_TCK")


async def backend_cpu(runtime: Any) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each PostgreSQL backend of this database,
    read from /proc (the server runs on this machine)."""
    async with runtime.engine.connect() as conn:
        pids = (
            await conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        ).all()
    return {pid: cpu for pid in pids if (cpu := _proc_cpu(pid)) is not None}


def _proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process, from /proc/<pid>/stat (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


async def deadlock_count(runtime: Any) -> int:
    """PostgreSQL's own counter for this database (statistics flush about once a second)."""
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = await conn.scalar(
            text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        )
    return int(value or 0)


@dataclass
class LockSampler:
    """Samples pg_stat_activity of the database every ``every`` seconds: how many backends
    are active, and how many wait for a lock (advisory locks counted apart)."""

    runtime: Any
    every: float = 0.1
    samples: int = 0
    active: int = 0
    in_tx_idle: int = 0  # inside a transaction, waiting for the client (Python) to go on
    waiting: int = 0
    advisory: int = 0
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self) -> None:
        import asyncpg

        dsn = self.runtime.database_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            while not self._stop.is_set():
                row = await conn.fetchrow(
                    "SELECT count(*) FILTER (WHERE state = 'active') AS active,"
                    " count(*) FILTER (WHERE state = 'idle in transaction') AS in_tx_idle,"
                    " count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting,"
                    " count(*) FILTER (WHERE wait_event = 'advisory') AS advisory"
                    " FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                )
                self.samples += 1
                self.active += row["active"]
                self.in_tx_idle += row["in_tx_idle"]
                self.waiting += row["waiting"]
                self.advisory += row["advisory"]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.every)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def share_client_bound(self) -> float:
        """Of the backends inside a transaction, the share waiting for their client."""
        total = self.active + self.in_tx_idle
        return self.in_tx_idle / total if total else 0.0

    def share_waiting(self) -> float:
        """Of the active backends sampled, the share waiting for a lock."""
        return self.waiting / self.active if self.active else 0.0


async def plain_inserts(runtime: Any, *, clients: int, seconds: float) -> float:
    """Plain one-row INSERT transactions, raw asyncpg, no audit: the database's own pace."""
    import asyncpg

    dsn = runtime.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    await conns[0].execute(
        "CREATE TABLE IF NOT EXISTS bench_plain (id bigserial PRIMARY KEY, at timestamptz,"
        " payload jsonb)"
    )
    count = 0
    deadline = time.monotonic() + seconds

    async def one(conn: Any) -> None:
        nonlocal count
        while time.monotonic() < deadline:
            await conn.execute(
                "INSERT INTO bench_plain (at, payload) VALUES (now(), $1)", '{"k": 1}'
            )
            count += 1

    started = time.monotonic()
    await asyncio.gather(*(one(c) for c in conns))
    elapsed = time.monotonic() - started
    await conns[0].execute("DROP TABLE bench_plain")
    for conn in conns:
        await conn.close()
    return count / elapsed


# ------------------------------------------------------------------ several processes


def _part(pool: Pool, index: int, parts: int) -> Pool:
    """Process ``index`` of ``parts`` gets every ``parts``-th household (its own deliveries)."""
    mine = pool.households[index::parts]
    return Pool(
        pool.member,
        pool.caseworker,
        pool.organization_id,
        mine,
        {h: pool.claim_need[h] for h in mine},
        {h: pool.consent[h] for h in mine},
        {h: pool.deliveries[h] for h in mine},
        None,
    )


def _child(
    url: str, redis_url: str, queue: str, pool: Pool, clients: int, seconds: float, start_at: float
) -> tuple[Run, dict[uuid.UUID, list[uuid.UUID]], dict[int, float]]:
    async def go() -> tuple[Run, dict[uuid.UUID, list[uuid.UUID]], dict[int, float]]:
        from backend.config import get_settings
        from backend.core.runtime import Runtime

        rt = await Runtime.start(
            get_settings(), database_url=url, redis_url=redis_url, queue_name=queue
        )
        try:
            await asyncio.sleep(max(0.0, start_at - time.time()))  # all processes start together
            run = await run_mix(rt, pool, clients=clients, seconds=seconds)
            # the backends' CPU while this process's connections still exist
            return run, pool.deliveries, await backend_cpu(rt)  # deliveries left to confirm
        finally:
            await rt.close()

    return asyncio.run(go())


async def run_processes(
    runtime: Any, pool: Pool, *, clients: int, seconds: float, processes: int
) -> tuple[Run, list[dict[int, float]]]:
    """``clients`` spread over ``processes`` app processes (as with several app workers), each
    with its own connections and sealer; the figures are summed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    procs = max(1, min(processes, clients))
    loop = asyncio.get_running_loop()
    start_at = time.time() + 15 + 5 * procs  # after every process has imported and connected
    with ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn")) as ex:
        futures = [
            loop.run_in_executor(
                ex,
                _child,
                runtime.database_url,
                runtime.redis_url,
                runtime.queue.queue_name,
                _part(pool, i, procs),
                clients // procs + (1 if i < clients % procs else 0),
                seconds,
                start_at,
            )
            for i in range(procs)
        ]
        results = await asyncio.gather(*futures)
    runs = [run for run, _, _ in results]
    for _, left, _ in results:
        pool.deliveries.update(left)
    total = Run(clients, max(r.seconds for r in runs))
    for r in runs:
        total.done += r.done
        total.refused += r.refused
        total.deadlocks += r.deadlocks
        total.errors += r.errors
        total.latencies += r.latencies
        total.sealed += r.sealed
        total.client_cpu_s += r.client_cpu_s
    return total, [cpu for _, _, cpu in results]


# ------------------------------------------------------------------ main


async def _scale_ids(session: AsyncSession) -> dict[str, Any]:
    """In a generated province: a member of an approved organization that serves a county, and
    that county's caseworker (what ``seed_demo`` names ``org_member``, ``org:charity``,
    ``caseworker``), and the county (``region``) where the pool's households are made."""
    member, org, county = (
        await session.execute(
            text(
                "SELECT m.user_id, o.id, o.service_area[1] FROM memberships m"
                " JOIN organizations o ON o.id = m.organization_id"
                " JOIN regions r ON r.code = o.service_area[1]"
                " WHERE o.status = 'approved' AND r.level = 'county' ORDER BY o.id LIMIT 1"
            )
        )
    ).one()
    caseworker = await session.scalar(
        text("SELECT user_id FROM role_grants WHERE role = 'caseworker' AND region_code = :c"),
        {"c": county},
    )
    return {"caseworker": caseworker, "org_member": member, "org:charity": org, "region": county}


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    from backend.config import get_settings
    from backend.core import migrate
    from backend.core.runtime import Runtime
    from backend.demo.seed import seed_demo

    server = os.environ.get(
        "TONGXIN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    redis_url = os.environ.get("TONGXIN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
    name = f"tongxin_bench_writes_{os.getpid()}"
    base, _, _ = server.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    if args.scale:
        # a copy of a generated province (benchmarks/benchdb.py), the pool built inside it
        template = f"{os.environ.get('TONGXIN_BENCH_DB_PREFIX', 'tongxin_scale_')}{args.scale}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    else:
        await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        t0 = time.monotonic()
        await asyncio.to_thread(migrate.upgrade, url)
        rt = await Runtime.start(
            get_settings(),
            database_url=url,
            redis_url=redis_url,
            queue_name=f"tongxin:bench:{os.getpid()}",
        )
        try:
            async with rt.transaction() as session:
                ids = await (_scale_ids(session) if args.scale else seed_demo(session))
            need = int(args.seconds * 100)  # confirmations the three runs could consume
            each = max(2, -(-need // args.households))
            pool = await build_pool(
                rt,
                ids,
                households=args.households,
                deliveries_each=each,
                region_code=ids.get("region", "330106"),
            )
            build_s = time.monotonic() - t0
            print(
                f"built {args.households} households ({each} deliveries each) in {build_s:.0f} s",
                file=sys.stderr,
            )
            before = await deadlock_count(rt)
            runs = {}
            plain = {}
            locks: dict[int, LockSampler] = {}
            for clients in (1, 4, 16):
                sampler = LockSampler(rt)
                sampler.start()
                cpu_before = await backend_cpu(rt)
                readings: list[dict[int, float]] = []
                if args.processes > 1 and clients > 1:
                    runs[clients], readings = await run_processes(
                        rt, pool, clients=clients, seconds=args.seconds, processes=args.processes
                    )
                else:
                    runs[clients] = await run_mix(rt, pool, clients=clients, seconds=args.seconds)
                await sampler.stop()
                after: dict[int, float] = {}
                for reading in [*readings, await backend_cpu(rt)]:
                    for pid, used in reading.items():  # a backend's CPU only grows: latest = max
                        after[pid] = max(used, after.get(pid, 0.0))
                runs[clients].db_cpu_s = sum(
                    max(0.0, used - cpu_before.get(pid, 0.0)) for pid, used in after.items()
                )
                locks[clients] = sampler
                plain[clients] = await plain_inserts(rt, clients=clients, seconds=args.seconds / 2)
            await asyncio.sleep(1.5)
            deadlocks = await deadlock_count(rt) - before
            async with rt.transaction() as session:
                await seal_all(session)
            async with rt.sessionmaker() as session:
                verdict = await verify(session)
        finally:
            await rt.close()
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    print(
        f"{'clients':>7} {'audited tx/s':>13} {'p50 ms':>8} {'p95 ms':>8} {'plain tx/s':>11}"
        f" {'lock-waiting':>13} {'advisory':>9} {'client-bound':>13} {'CPU ms/tx':>10}"
        f" {'cores busy':>11}"
    )
    for clients, run in runs.items():
        print(
            f"{clients:>7} {run.tput:>13.1f} {run.p50_ms():>8.1f} {run.p95_ms():>8.1f}"
            f" {plain[clients]:>11.1f} {locks[clients].share_waiting():>12.1%}"
            f" {locks[clients].advisory:>9} {locks[clients].share_client_bound():>12.1%}"
            f" {run.cpu_ms_per_op():>10.1f}"
            f" {(run.client_cpu_s + run.db_cpu_s) / run.seconds:>11.2f}"
        )
        detail = ", ".join(f"{k} {v}" for k, v in sorted((run.done + run.refused).items()))
        print(f"{'':>7} {detail}; sealed {run.sealed}; errors {len(run.errors)}")
        for error in run.errors[:3]:
            print(f"{'':>7} ! {error}")
    print(f"chain verified: {verdict.ok} ({verdict.checked} rows) {verdict.reason}")
    cores = os.cpu_count() or 1
    # The most audited transactions/s these cores could run if nothing ever waited: each costs
    # cpu_ms_per_op of CPU (client + PostgreSQL), measured with one client.
    ceiling = cores / (runs[1].cpu_ms_per_op() / 1000) if runs[1].cpu_ms_per_op() else None
    scaling_limit = ceiling / runs[1].tput if ceiling and runs[1].tput else None
    print(
        f"CPU per audited transaction (client + PostgreSQL): {runs[1].cpu_ms_per_op():.1f} ms with"
        f" 1 client, {runs[16].cpu_ms_per_op():.1f} ms with 16; {cores} cores -> at most"
        f" {ceiling or 0:.0f} tx/s, i.e. 16 clients can reach at most {scaling_limit or 0:.2f} x"
        " one client's throughput on this machine"
    )
    return {
        "households": args.households,
        "scale": args.scale,
        "seconds": args.seconds,
        "processes": args.processes,
        "tput_1": round(runs[1].tput, 1),
        "tput_4": round(runs[4].tput, 1),
        "tput_16": round(runs[16].tput, 1),
        "scaling_16": round(runs[16].tput / runs[1].tput, 2) if runs[1].tput else None,
        "plain_tput_1": round(plain[1], 1),
        "plain_tput_16": round(plain[16], 1),
        "p95_ms_16": round(runs[16].p95_ms(), 1),
        "lock_wait_share_16": round(locks[16].share_waiting(), 3),
        "advisory_waits_sampled": sum(x.advisory for x in locks.values()),
        "client_bound_share_16": round(locks[16].share_client_bound(), 3),
        "deadlocks": deadlocks,
        "client_deadlocks": sum(r.deadlocks for r in runs.values()),
        "errors": sum(len(r.errors) for r in runs.values()),
        "chain_ok": verdict.ok,
        "chain_rows": verdict.checked,
        "cores": cores,
        "cpu_ms_per_op_1": round(runs[1].cpu_ms_per_op(), 2),
        "cpu_ms_per_op_16": round(runs[16].cpu_ms_per_op(), 2),
        "cores_busy_1": round((runs[1].client_cpu_s + runs[1].db_cpu_s) / runs[1].seconds, 2),
        "cores_busy_16": round((runs[16].client_cpu_s + runs[16].db_cpu_s) / runs[16].seconds, 2),
        "cpu_ceiling_tput": round(ceiling, 1) if ceiling else None,
        "scaling_limit": round(scaling_limit, 2) if scaling_limit else None,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="run inside a copy of the generated province of this many households"
        " (TONGXIN_BENCH_DB_PREFIX + N, made by seed-scale; TONGXIN_VAR_DIR as when seeded)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="spread 4 and 16 clients over this many processes (as several app workers would)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TONGXIN_VAR_DIR", tempfile.mkdtemp(prefix="bench-writes-var-"))
    os.environ.setdefault("TONGXIN_ENV", "test")
    print(json.dumps(asyncio.run(_main(args))))


if __name__ == "__main__":
    main()
