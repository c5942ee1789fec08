"""Running ``tongxin`` as the operator does: a subprocess with its own environment.

Used by tests/test_cli_commands.py and tests/test_backup_restore.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_sql(server_url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(with_database(server_url, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def var_dir_with_keys(path: Path, keys_from: Path) -> Path:
    """A var directory holding the same key files as ``keys_from`` (so data written by the test
    process with its keys is readable by the CLI), with its own search index and uploads."""
    (path / "keys").mkdir(parents=True, mode=0o700)
    (path / "run").mkdir(mode=0o700)
    for key in (keys_from / "keys").glob("*.key"):
        shutil.copy2(key, path / "keys" / key.name)
    return path


def cli_env(var_dir: Path, **settings: str | None) -> dict[str, str]:
    """The environment of a ``tongxin`` subprocess: no inherited TONGXIN_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIN_")}
    env.update(
        {
            "TONGXIN_VAR_DIR": str(var_dir),
            "TONGXIN_ENV": "test",
            "TONGXIN_LOG_LEVEL": "WARNING",
            "XDG_RUNTIME_DIR": str(var_dir / "run"),
        }
    )
    (var_dir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, value in settings.items():
        if value is not None:
            env[f"TONGXIN_{name.upper()}"] = value
    return env


def tongxin(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """Assert success without a traceback; return the summary (the last line of stdout)."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, f"no summary line:\n{result.stderr}"
    return lines[-1]


def fails(result: subprocess.CompletedProcess[str], code: int) -> str:
    """Assert the given non-zero status and a one-line message without a traceback."""
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tongxin ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A long-running ``tongxin`` command (run, worker) with its output collected."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_http(self, url: str, timeout: float = 90) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = httpx.get(url, timeout=2)
                if response.status_code < 500:
                    return response
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"{url} did not answer:\n{self.output[-3000:]}")
            time.sleep(0.3)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status (the reader drains the rest of the output)."""
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"did not stop on SIGTERM:\n{self.output[-3000:]}") from None
        self._close()
        return code

    def _close(self) -> None:
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()
