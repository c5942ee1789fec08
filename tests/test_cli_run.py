"""`tongxin run` on the embedded footprint: starts everything, stops everything, keeps the data."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_using(var_dir: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(var_dir) in cmdline and proc.info["name"] in {"postgres", "redis-server"}:
            found.append(f"{proc.info['pid']} {proc.info['name']}")
    return found


def _env(var_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIN_")}
    env.update(
        {
            "TONGXIN_VAR_DIR": str(var_dir),
            "TONGXIN_PORT": str(port),
            "TONGXIN_LOG_LEVEL": "WARNING",
            "XDG_RUNTIME_DIR": str(var_dir / "run"),
            "TONGXIN_LOAD_DEMO_DATA": "true",  # as `make run` sets it
            **extra,
        }
    )
    return env


def _start(var_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    env = _env(var_dir, port)
    log = var_dir.parent / f"run-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, log
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    pytest.fail("tongxin run did not come up:\n" + log.read_text(errors="replace")[-3000:])


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("tongxin run did not stop")


@pytest.mark.slow
def test_run_stops_everything_and_restarts_on_the_same_data(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    port = _free_port()
    proc, log = _start(var_dir, port)
    output = log.read_text(errors="replace")
    assert "Demo sign-ins" in output
    assert "admin@demo.tongxin.cn" in output
    # one demo household's typeable code and PIN, for self-service and door confirmation
    from backend.demo.households import DEMO_PIN

    assert re.search(rf"code XFMA-2026-DEM0-[0-9A-Z]\s+PIN {DEMO_PIN}", output), output[-1500:]
    assert _children_using(var_dir), "embedded PostgreSQL and Redis should be running"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        assert http.get("/").status_code == 200
        # the demo listings were indexed at start: search finds them at once
        found = http.get("/api/v1/search", params={"kind": "need"})
        assert found.status_code == 200, found.text
        assert found.json()["total"] > 0
    _stop(proc, signal.SIGINT)
    time.sleep(0.5)
    assert _children_using(var_dir) == [], "Ctrl-C must stop the embedded servers"
    assert (var_dir / "postgres" / "PG_VERSION").exists()

    proc, log = _start(var_dir, port)
    assert "Loaded the demo data" not in log.read_text(errors="replace"), (
        "data must survive a restart"
    )
    _stop(proc, signal.SIGTERM)
    time.sleep(0.5)
    assert _children_using(var_dir) == [], "SIGTERM must stop the embedded servers"


def _cli(var_dir: Path, port: int, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=_env(var_dir, port, **extra),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_cli_commands_never_stop_a_server_they_did_not_start(tmp_path: Path) -> None:
    """`tongxin verify-audit` while `tongxin run` serves (no database URL configured) connects
    to the running embedded PostgreSQL and leaves it running: the app stays healthy. A
    production start with the demo accounts present refuses."""
    var_dir = tmp_path / "var"
    port = _free_port()
    proc, _ = _start(var_dir, port)
    try:
        running = _children_using(var_dir)
        result = _cli(var_dir, port, "verify-audit")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "audit log intact" in result.stdout
        assert _children_using(var_dir) == running, "the servers of `tongxin run` stay up"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/healthz").status_code == 200
            assert http.get("/api/v1/needs").status_code == 200  # the database still answers
        seeded = _cli(var_dir, port, "seed-demo")  # needs Redis too: reuses that one as well
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/api/v1/needs").status_code == 200
    finally:
        _stop(proc, signal.SIGINT)
    time.sleep(0.5)
    assert _children_using(var_dir) == []

    refused = _cli(
        var_dir,
        port,
        "run",
        TONGXIN_LOAD_DEMO_DATA="false",
        TONGXIN_BASE_URL="https://tongxin.example.org",
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "demo accounts" in refused.stderr
    assert "TONGXIN_ALLOW_DEMO_ACCOUNTS" in refused.stderr
    time.sleep(0.5)
    assert _children_using(var_dir) == [], "the refusing start stops what it started"
