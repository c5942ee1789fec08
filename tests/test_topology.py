"""The production footprint without Docker: two web processes, two workers, one PostgreSQL
and Redis — and what survives a SIGKILL of one of each in the middle of a write load.

``tongxin run --workers 2`` (uvicorn's supervisor, one socket) and two ``tongxin worker``
processes start on loopback against the test database and Redis, on a job queue of their own.
Caseworkers draft needs and organizations offer resources over the JSON API (each write is an
audited state change with an outbox event). After a few seconds one web process and one worker
are killed with SIGKILL. Then:

- every write that was answered 2xx is in the database (acknowledged means committed);
- every outbox event written during the run is handled exactly once: each worker's probe
  subscriber (``tests/topology_probe.py``) adds one row per handling in the job's transaction,
  so a double handling leaves two rows and a lost event none.

The dead worker's jobs are retaken after ``TONGXIN_JOB_TIMEOUT_SECONDS`` + 10 s (arq's
in-progress lease); events whose relay to Redis died with the web process are re-enqueued by
the sweeper (every 15 s, for events pending longer than ``TONGXIN_OUTBOX_SWEEP_AFTER_SECONDS``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from backend.core.sessions import SESSION_COOKIE
from backend.demo.matching import make_household

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LOAD_AFTER_KILL = 6.0
JOB_TIMEOUT = 6  # the dead worker's jobs come back after 6 + 10 s
CLIENTS = 8


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)

    def tail(self) -> str:
        return "".join(self.lines[-30:])


def _start(name: str, args: list[str], env: dict[str, str]) -> Proc:
    popen = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    proc = Proc(name, popen)
    threading.Thread(
        target=lambda: proc.lines.extend(x.decode(errors="replace") for x in popen.stdout or []),
        daemon=True,
    ).start()
    return proc


def _stop(proc: Proc) -> None:
    if proc.popen.poll() is None:
        proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.popen.wait(20)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait(5)
    if proc.popen.stdout is not None:
        proc.popen.stdout.close()


def _web_children(supervisor_pid: int) -> list[int]:
    """uvicorn's worker processes (spawned interpreters), not multiprocessing's helpers."""
    children: list[int] = []
    task_dir = Path(f"/proc/{supervisor_pid}/task")
    for task in task_dir.iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"spawn_main" in cmdline:
                children.append(int(pid))
    return children


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def probe_table(runtime: Any) -> AsyncIterator[str]:
    name = f"topology_probe_{uuid.uuid4().hex[:8]}"
    async with runtime.engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {name} (event_id uuid NOT NULL, pid int NOT NULL)"))
    yield name
    async with runtime.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


@dataclass
class Load:
    drafts: list[uuid.UUID] = field(default_factory=list)
    resources: list[uuid.UUID] = field(default_factory=list)
    failures: int = 0  # refused connections, resets: not acknowledged, so nothing is promised
    after_kill: int = 0
    killed: bool = False


async def _client_loop(
    base: str, cookie: str, kind: str, target: str, stop: asyncio.Event, load: Load, n: int
) -> None:
    async with httpx.AsyncClient(
        base_url=base, cookies={SESSION_COOKIE: cookie}, timeout=10.0
    ) as client:
        token = ""
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if not token:
                    await client.get("/healthz")
                    await client.get("/signin")
                    token = str(client.cookies.get("tx_csrf") or "")
                headers = {"x-csrftoken": token}
                if kind == "need":
                    r = await client.post(
                        f"/api/v1/households/{target}/needs",
                        json={"category": "goods", "title": f"冬季棉被 {n}-{i}", "quantity": 1},
                        headers=headers,
                    )
                else:
                    r = await client.post(
                        "/api/v1/resources",
                        json={
                            "organization_id": target,
                            "kind": "goods",
                            "category": "goods",
                            "title": f"棉被 {n}-{i}",
                            "capacity": 3,
                            "service_area": ["330106"],
                        },
                        headers=headers,
                    )
            except httpx.HTTPError:
                load.failures += 1
                token = ""
                await asyncio.sleep(0.05)
                continue
            assert r.status_code < 500, r.text
            if r.status_code == 201:
                (load.drafts if kind == "need" else load.resources).append(
                    uuid.UUID(r.json()["id"])
                )
                if load.killed:
                    load.after_kill += 1
            elif r.status_code == 403:  # the CSRF cookie came from a process since killed
                token = ""
                client.cookies.clear()
                client.cookies.set(SESSION_COOKIE, cookie)


async def test_two_web_processes_and_two_workers_survive_sigkill(
    database_url: str, redis_url: str, runtime: Any, demo: dict[str, Any], probe_table: str
) -> None:
    t0 = time.monotonic()
    async with runtime.transaction() as s:
        households = [
            (
                await make_household(
                    s, region_code="330106004053", registered_by=demo["caseworker"]
                )
            ).id
            for _ in range(CLIENTS // 2)
        ]
    caseworker = await runtime.services.sessions.create(demo["caseworker"])
    member = await runtime.services.sessions.create(demo["org_member"])
    port = _free_port()
    env = {
        **os.environ,
        "TONGXIN_DATABASE_URL": database_url,
        "TONGXIN_REDIS_URL": redis_url,
        "TONGXIN_QUEUE_NAME": f"tongxin:topology:{uuid.uuid4().hex[:8]}",
        "TONGXIN_WORKER_IN_PROCESS": "false",
        "TONGXIN_LOAD_DEMO_DATA": "false",
        "TONGXIN_LOG_LEVEL": "WARNING",
        "TONGXIN_PORT": str(port),
        "TONGXIN_JOB_TIMEOUT_SECONDS": str(JOB_TIMEOUT),
        "TONGXIN_OUTBOX_SWEEP_AFTER_SECONDS": "3",
        "TONGXIN_DB_POOL_SIZE": "5",
        "TONGXIN_TOPOLOGY_PROBE_TABLE": probe_table,
    }
    py = sys.executable
    web = _start(
        "web", [py, "-m", "backend.cli", "run", "--port", str(port), "--workers", "2"], env
    )
    workers = [_start(f"worker{i}", [py, "-m", "tests.topology_probe"], env) for i in (1, 2)]
    procs = [web, *workers]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # five interpreters importing the app, on 2 cores
        while True:
            try:
                async with httpx.AsyncClient(timeout=2) as c:
                    if (await c.get(base + "/healthz")).status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            for p in procs:
                assert p.popen.poll() is None, f"{p.name} stopped:\n{p.tail()}"
            assert time.monotonic() < deadline, f"the app did not start:\n{web.tail()}"
            await asyncio.sleep(0.3)
        children = _web_children(web.popen.pid)
        assert len(children) == 2, children
        t_up = time.monotonic()

        async with runtime.engine.connect() as conn:
            started = (await conn.execute(text("SELECT now()"))).scalar_one()
        load = Load()
        stop = asyncio.Event()
        org = str(demo["org:charity"])
        clients = [
            _client_loop(base, caseworker, "need", str(households[n // 2]), stop, load, n)
            if n % 2 == 0
            else _client_loop(base, member, "resource", org, stop, load, n)
            for n in range(CLIENTS)
        ]

        async def handled_by(pid: int) -> int:
            async with runtime.engine.connect() as conn:
                return int(
                    (
                        await conn.execute(
                            text(f"SELECT count(*) FROM {probe_table} WHERE pid = :pid"),
                            {"pid": pid},
                        )
                    ).scalar_one()
                )

        async def killer() -> None:
            # kill once both are busy: writes answered, events handled by the doomed worker
            give_up = time.monotonic() + 30
            while time.monotonic() < give_up:
                if len(load.drafts) + len(load.resources) >= 10 and await handled_by(
                    workers[0].popen.pid
                ):
                    break
                await asyncio.sleep(0.2)
            os.kill(children[0], signal.SIGKILL)
            workers[0].popen.send_signal(signal.SIGKILL)
            load.killed = True
            await asyncio.sleep(LOAD_AFTER_KILL)
            stop.set()

        await asyncio.gather(killer(), *clients)
        ended = time.monotonic()
        assert workers[0].popen.wait(5) == -signal.SIGKILL
        assert load.after_kill > 0, "no write was acknowledged after the kill"
        assert await handled_by(workers[0].popen.pid) > 0, "the killed worker never worked"
        assert load.drafts and load.resources

        # Every event written since the load began is handled, by the surviving worker too.
        pending: int | None = None
        # a killed job comes back after its lease (JOB_TIMEOUT + 10 s); a failed one with the
        # sweeper (every 15 s): allow each twice over before calling an event lost
        while time.monotonic() < ended + 2 * (JOB_TIMEOUT + 10) + 2 * 15:
            async with runtime.engine.connect() as conn:
                pending = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM outbox WHERE created_at >= :t AND state <> 'done'"
                        ),
                        {"t": started},
                    )
                ).scalar_one()
            if pending == 0:
                break
            await asyncio.sleep(1)
        if pending:
            async with runtime.engine.connect() as conn:
                stuck = (
                    await conn.execute(
                        text(
                            "SELECT topic, state, attempts, left(last_error, 300) FROM outbox"
                            " WHERE created_at >= :t AND state <> 'done'"
                        ),
                        {"t": started},
                    )
                ).all()
            raise AssertionError(
                f"{pending} events not handled: {stuck}\n{workers[1].tail()}\n{web.tail()}"
            )
        t_done = time.monotonic()

        async with runtime.engine.connect() as conn:
            drafts = set(
                (
                    await conn.execute(
                        text("SELECT id FROM needs WHERE id = ANY(:ids)"), {"ids": load.drafts}
                    )
                ).scalars()
            )
            resources = set(
                (
                    await conn.execute(
                        text("SELECT id FROM resources WHERE id = ANY(:ids)"),
                        {"ids": load.resources},
                    )
                ).scalars()
            )
            events = (
                await conn.execute(
                    text(
                        "SELECT o.id, o.topic, o.aggregate_id, count(p.event_id) AS handled,"
                        " array_agg(DISTINCT p.pid) FILTER (WHERE p.pid IS NOT NULL)"
                        f" FROM outbox o LEFT JOIN {probe_table} p ON p.event_id = o.id"
                        " WHERE o.created_at >= :t GROUP BY o.id, o.topic, o.aggregate_id"
                    ),
                    {"t": started},
                )
            ).all()
            strays = (
                await conn.execute(
                    text(
                        f"SELECT count(*) FROM {probe_table} p"
                        " WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = p.event_id)"
                    )
                )
            ).scalar_one()
        # acknowledged writes are kept
        assert drafts == set(load.drafts)
        assert resources == set(load.resources)
        # each acknowledged write has its event, and every event was handled exactly once
        topics = {(row.topic, row.aggregate_id) for row in events}
        assert all(("need.draft", d) in topics for d in load.drafts)
        handled = {row.handled for row in events}
        assert handled == {1}, [row for row in events if row.handled != 1][:5]
        assert strays == 0
        pids = {pid for row in events for pid in row[4]}
        assert workers[1].popen.pid in pids
        # the supervisor replaced the killed web process
        assert len(_web_children(web.popen.pid)) == 2
        print(
            f"topology: {len(load.drafts)} drafts, {len(load.resources)} resources acknowledged,"
            f" {load.after_kill} after the kill, {load.failures} failed connections,"
            f" {len(events)} events handled once each by {len(pids)} workers;"
            f" start {t_up - t0:.1f} s, load {ended - t_up:.1f} s, catch-up {t_done - ended:.1f} s"
        )
    finally:
        for p in procs:
            _stop(p)
