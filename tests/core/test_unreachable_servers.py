"""A server the suite needs that cannot be reached fails the run; nothing is skipped silently."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the socket goes away


@pytest.mark.parametrize("which", ["TONGXIN_TEST_DATABASE_URL", "TONGXIN_TEST_REDIS_URL"])
def test_unreachable_server_fails_the_run(which: str) -> None:
    port = _closed_port()
    bad = {
        "TONGXIN_TEST_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/test",
        "TONGXIN_TEST_REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }[which]
    env = {**os.environ, which: bad}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/core/test_migrations.py::test_models_and_migrations_agree",
            "tests/accounts/test_signin.py::test_signin_cookie_is_secure_outside_localhost",
            "tests/web/test_site.py::test_healthz",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "unreachable" in result.stdout + result.stderr
