"""Pages at province scale: is every page flat in the size of the data?

    python benchmarks/http.py --households 1000,20000
    python benchmarks/http.py --households 1000,20000 --hot      # also requests/s at 16 conns
    python benchmarks/http.py --households 1000,20000 --hot --skip-pages --rounds 3

For each size (a generated database, see benchmarks/benchdb.py) the app serves in this process
(Litestar's test client; no network) and each page is requested ``--requests`` times in a row
after a warm-up: median and p95 per size, the ratio of the p95s (largest / smallest size) and
the SQL statements one request sends (SQLAlchemy ``before_cursor_execute``). Prints a table,
then as the last line one JSON object: ``households``, ``pages`` (name → ``p95_small_ms``,
``p95_big_ms``, ``ratio``, ``queries``, medians), ``worst_ratio``, ``worst_big_p95_ms`` and the
machine's load average. Figures, not pass/fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``http`` package: take its folder off the
# import path before anything imports ``http``, and load the shared helpers by file name.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

_spec = importlib.util.spec_from_file_location("benchdb", _HERE / "benchdb.py")
assert _spec is not None
assert _spec.loader is not None
benchdb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchdb)
REDIS, StatementCounter, ensure = benchdb.REDIS, benchdb.StatementCounter, benchdb.ensure
database_url = benchdb.database_url
load, median, pct = benchdb.load, benchdb.median, benchdb.pct

from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from backend.config import Settings, get_settings  # noqa: E402
from backend.core.runtime import Runtime  # noqa: E402
from backend.core.sessions import SESSION_COOKIE  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
COUNTY = "330106"  # a bundled county: present at every size
CITY = "330100"


@dataclass(frozen=True)
class Fixture:
    need: uuid.UUID
    household: uuid.UUID
    project: uuid.UUID
    org: uuid.UUID
    caseworker: uuid.UUID
    province_caseworker: uuid.UUID
    coordinator: uuid.UUID
    org_member: uuid.UUID
    auditor: uuid.UUID


async def _fixture(rt: Runtime) -> Fixture:
    async with rt.sessionmaker() as s:

        async def one(sql: str, **params: Any) -> Any:
            value = (await s.execute(text(sql), params)).scalar()
            assert value is not None, sql
            return value

        return Fixture(
            need=await one(
                "SELECT id FROM needs WHERE state = 'published' AND hidden_reason IS NULL"
                " AND public_region_code IS NOT NULL ORDER BY id LIMIT 1"
            ),
            household=await one(
                "SELECT h.id FROM households h JOIN regions r ON r.code = h.region_code"
                " WHERE r.path LIKE :p ORDER BY h.id LIMIT 1",
                p=f"330000.{CITY}.{COUNTY}.%",
            ),
            project=await one(
                "SELECT project_id FROM ledger_entries GROUP BY project_id"
                " ORDER BY count(*) DESC, project_id LIMIT 1"
            ),
            org=await one("SELECT id FROM organizations ORDER BY id LIMIT 1"),
            caseworker=await one(
                "SELECT user_id FROM role_grants WHERE role = 'caseworker' AND region_code = :c",
                c=COUNTY,
            ),
            province_caseworker=await one(
                "SELECT user_id FROM role_grants WHERE role = 'caseworker'"
                " AND region_code = '330000'"
            ),
            coordinator=await one(
                "SELECT user_id FROM role_grants WHERE role = 'coordinator' AND region_code = :c",
                c=CITY,
            ),
            org_member=await one(
                "SELECT m.user_id FROM memberships m JOIN organizations o"
                " ON o.id = m.organization_id ORDER BY o.id LIMIT 1"
            ),
            auditor=await one("SELECT user_id FROM role_grants WHERE role = 'auditor' LIMIT 1"),
        )


#: A registry name search (two characters of a head's name; generated names are a surname and
#: one or two given characters, so this matches a few households in every 1,000).
REGISTRY_QUERY = "王建"


def pages(f: Fixture) -> list[tuple[str, str, str | None, dict[str, str] | None]]:
    """(name, path, who, form) — who is the fixture field of the signed-in user, None =
    anonymous; a form makes the request a POST of that form (with the CSRF token)."""
    get: list[tuple[str, str, str | None]] = [
        ("public needs list", "/needs", None),
        (
            "public needs list, filtered",
            f"/needs?category=goods&urgency=normal&region={CITY}",
            None,
        ),
        ("public needs list, page 50", "/needs?page=50", None),
        ("api needs page 1", "/api/v1/needs", None),
        ("need detail", f"/needs/{f.need}", None),
        ("projects list", "/projects", None),
        ("project page", f"/projects/{f.project}", None),
        ("project ledger", f"/projects/{f.project}/ledger", None),
        ("project ledger csv", f"/projects/{f.project}/ledger.csv", None),
        ("resources list", "/resources", None),
        ("tasks list", "/tasks", None),
        ("organization directory", "/organizations", None),
        ("csr ranking", "/organizations/ranking", None),
        ("caseworker list (county)", "/households/", "caseworker"),
        ("caseworker list (province)", "/households/", "province_caseworker"),
        ("household detail", f"/households/{f.household}", "caseworker"),
        ("coordinator match queue", "/coordination/matches", "coordinator"),
        ("coordinator fairness", "/coordination/fairness", "coordinator"),
        ("coordinator dashboard (city)", "/coordination/dashboard", "coordinator"),
        (
            "coordinator dashboard (county)",
            f"/coordination/dashboard?county={COUNTY}",
            "coordinator",
        ),
        ("organization needs", f"/org/{f.org}/needs", "org_member"),
        ("caseworker start (county)", "/work/", "caseworker"),
        ("caseworker start (province)", "/work/", "province_caseworker"),
        ("audit log", "/audit/", "auditor"),
    ]
    search = {"q": REGISTRY_QUERY}
    return [(name, path, who, None) for name, path, who in get] + [
        ("registry search (county)", "/households/search", "caseworker", search),
        ("registry search (province)", "/households/search", "province_caseworker", search),
    ]


async def measure(
    url: str, requests: int, counter: Any, only: list[str] | None = None
) -> dict[str, dict[str, float]]:
    settings = get_settings()
    rt = await Runtime.start(settings, database_url=url, redis_url=REDIS, queue_name="bench")
    try:
        fixture = await _fixture(rt)
        tokens = {
            who: await rt.services.sessions.create(getattr(fixture, who))
            for who in {w for _, _, w, _ in pages(fixture) if w}
        }
    finally:
        await rt.close()
    from backend.app import create_app

    app = create_app(  # the pages themselves: the public page cache is off here (see --hot)
        Settings.from_env(public_cache_seconds=0),
        database_url=url,
        redis_url=REDIS,
        queue_name="bench",
        start_worker=False,
    )
    results: dict[str, dict[str, float]] = {}
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        for name, path, who, form in pages(fixture):
            if only and not any(word in name for word in only):
                continue
            client.cookies.clear()
            if who:
                client.cookies.set(SESSION_COOKIE, tokens[who])

            async def request(path: str = path, form: dict[str, str] | None = form) -> Any:
                if form is None:
                    return await client.get(path)
                if "tx_csrf" not in client.cookies:
                    await client.get("/healthz")
                    await client.get("/signin")
                token = str(client.cookies.get("tx_csrf"))
                return await client.post(path, data={**form, "_csrf_token": token})

            for _ in range(3):  # warm-up
                response = await request()
                assert response.status_code == 200, (name, response.status_code)
            times = []
            queries = 0
            for _ in range(requests):
                with counter.measure() as box:
                    started = time.perf_counter()
                    response = await request()
                    times.append((time.perf_counter() - started) * 1000)
                queries = box[0]
                assert response.status_code == 200, (name, response.status_code)
            results[name] = {
                "median_ms": round(median(times), 1),
                "p95_ms": round(pct(times, 95), 1),
                "queries": queries,
            }
    return results


HOT_PORT = int(os.environ.get("TONGXIN_BENCH_PORT", "8103"))  # the raw endpoint on the next port


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 GET on an open connection; returns the status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _rps(base: str, path: str, cookies: dict[str, str], conns: int, seconds: float) -> float:
    """Requests/s of ``conns`` keep-alive connections for ``seconds``. A bare asyncio client
    (not httpx): on 2 cores the load generator must cost far less than the server."""
    host, port = base.removeprefix("http://").split(":")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Language: zh-CN\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    ).encode()
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(2):  # warm-up
                assert await _get(reader, writer, request) == 200, path
            while time.perf_counter() < deadline:
                status = await _get(reader, writer, request)
                assert status == 200, (path, status)
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(conns)))
    return done / (time.perf_counter() - started)


def hot(url: str, conns: int, seconds: float, rounds: int) -> dict[str, float]:
    """Requests/s at ``conns`` connections: a raw asyncpg endpoint and the app (one process
    each, uvicorn on loopback), on one database. Each path is first warmed sequentially (its
    cache entry made); then ``rounds`` rounds of raw, list, detail, signed-in list, raw again,
    each page's ratio taken against the mean of the two raw runs around it (the machine is
    shared: the raw endpoint's own figure moves by 2x between runs). Medians over the rounds."""
    import subprocess

    import httpx

    async def setup() -> tuple[Fixture, str]:
        rt = await Runtime.start(get_settings(), database_url=url, redis_url=REDIS)
        try:
            fixture = await _fixture(rt)
            token = await rt.services.sessions.create(fixture.caseworker)
        finally:
            await rt.close()
        return fixture, token

    fixture, token = asyncio.run(setup())
    serve = str(_HERE / "serve.py")
    env = {**os.environ, "TONGXIN_LOG_LEVEL": "WARNING", "TONGXIN_PUBLIC_CACHE_SECONDS": "300"}
    procs = {
        "raw": subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, serve, "raw", url, "-", str(HOT_PORT + 1)], env=env
        ),
        "app": subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [sys.executable, serve, "app", url, REDIS, str(HOT_PORT)], env=env
        ),
    }
    raw = f"http://127.0.0.1:{HOT_PORT + 1}"
    app = f"http://127.0.0.1:{HOT_PORT}"
    targets = {
        "hot_list": (app, "/needs", {}),
        "hot_detail": (app, f"/needs/{fixture.need}", {}),
        "signed_in_list": (app, "/households/", {SESSION_COOKIE: token}),
    }
    runs: dict[str, list[float]] = {"raw_rps": []}
    ratios: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for port in (HOT_PORT, HOT_PORT + 1):
            for _ in range(120):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
        for base, path, cookies in [(raw, "/raw", {}), *targets.values()]:
            asyncio.run(_rps(base, path, cookies, 1, 0.5))  # warm: templates, cache entries
        for _ in range(rounds):
            before = asyncio.run(_rps(raw, "/raw", {}, conns, seconds))
            figures = {
                name: asyncio.run(_rps(base, path, cookies, conns, seconds))
                for name, (base, path, cookies) in targets.items()
            }
            after = asyncio.run(_rps(raw, "/raw", {}, conns, seconds))
            runs["raw_rps"] += [before, after]
            for name, value in figures.items():
                runs.setdefault(f"{name}_rps", []).append(value)
                ratios[name].append(value / ((before + after) / 2))
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=30)
    out = {key: round(median(values), 1) for key, values in runs.items()}
    out["raw_rps_min"] = round(min(runs["raw_rps"]), 1)
    out["raw_rps_max"] = round(max(runs["raw_rps"]), 1)
    for name, values in ratios.items():
        out[f"{name}_ratio"] = round(median(values), 3)
        out[f"{name}_ratio_min"] = round(min(values), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", default="1000,20000", help="comma-separated sizes")
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--hot", action="store_true", help="also requests/s at 16 connections")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=5.0, help="per --hot measurement")
    ap.add_argument("--rounds", type=int, default=3, help="--hot rounds per size")
    ap.add_argument("--skip-pages", action="store_true", help="only the --hot figures")
    ap.add_argument("--only", default="", help="comma-separated words: only pages named so")
    args = ap.parse_args()
    sizes = [int(x) for x in args.households.split(",")]
    counter = StatementCounter()
    by_size: dict[int, dict[str, dict[str, float]]] = {}
    hot_figures: dict[str, Any] = {}
    for size in sizes:
        url = ensure(size)
        if not args.skip_pages:
            only = [w for w in args.only.split(",") if w] or None
            by_size[size] = asyncio.run(measure(url, args.requests, counter, only))
    if args.hot:
        by_size_hot = {
            size: hot(database_url(size), args.connections, args.seconds, args.rounds)
            for size in sizes
        }
        print(
            f"{'at ' + str(args.connections) + ' connections':<30}"
            + "".join(f"{s:>12}" for s in sizes)
        )
        for key in by_size_hot[sizes[-1]]:
            print(f"{key:<30}" + "".join(f"{by_size_hot[s][key]:>12}" for s in sizes))
        # the largest size's figures at the top level; every size's under "hot"
        hot_figures = {**by_size_hot[sizes[-1]], "hot": {str(s): f for s, f in by_size_hot.items()}}
    if args.skip_pages:
        print(json.dumps({"households": sizes, **hot_figures, "load": load()}))
        return
    small, big = by_size[sizes[0]], by_size[sizes[-1]]
    header = f"{'page':<30}" + "".join(f"{'med ' + str(s):>11}{'p95 ' + str(s):>11}" for s in sizes)
    print(header + f"{'ratio':>8}{'SQL':>5}")
    summary_pages: dict[str, dict[str, float]] = {}
    for name in small:
        ratio = round(big[name]["p95_ms"] / max(small[name]["p95_ms"], 0.1), 2)
        cells = "".join(
            f"{by_size[s][name]['median_ms']:>11}{by_size[s][name]['p95_ms']:>11}" for s in sizes
        )
        print(f"{name:<30}{cells}{ratio:>8}{big[name]['queries']:>5}")
        summary_pages[name] = {
            "median_small_ms": small[name]["median_ms"],
            "median_big_ms": big[name]["median_ms"],
            "p95_small_ms": small[name]["p95_ms"],
            "p95_big_ms": big[name]["p95_ms"],
            "ratio": ratio,
            "queries": big[name]["queries"],
        }
    print(f"load average: {load()}")
    summary = {
        "households": sizes,
        "pages": summary_pages,
        "worst_ratio": max(p["ratio"] for p in summary_pages.values()),
        "worst_big_p95_ms": max(p["p95_big_ms"] for p in summary_pages.values()),
        **hot_figures,
        "load": load(),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
