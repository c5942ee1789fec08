"""Backups of the production footprint: keys come from the environment and are not copied.

``backup`` records their fingerprints; ``restore`` runs only with the same keys configured.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.core.keys import get_keys
from backend.ops import OpsError
from backend.ops.backup import backup, restore
from tests.cli_support import fresh_database


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def _production_like(var_dir: Path, **overrides: str) -> Settings:
    keys = get_keys()  # the keys the session database was written with
    values = {
        "secret_key": _b64(keys.session),
        "audit_key": _b64(keys.audit),
        "id_hash_key": _b64(keys.id_hash),
        "encryption_keys": ",".join(f"{k}:{_b64(v)}" for k, v in keys.encryption.items()),
        **overrides,
    }
    return Settings.from_env(var_dir=var_dir, **values)


def test_environment_keys_are_fingerprinted_not_copied_and_must_match(
    database_url: str, pg_server: str, demo: dict[str, Any], tmp_path: Path
) -> None:
    settings = _production_like(tmp_path / "var")
    result = backup(settings, database_url, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert result.manifest == manifest
    assert {entry["source"] for entry in manifest["keys"].values()} == {"environment"}
    assert manifest["keys"]["audit"]["variable"] == "TONGXIN_AUDIT_KEY"
    assert not (tmp_path / "backup" / "keys").exists()
    assert _b64(get_keys().audit) not in (tmp_path / "backup" / "manifest.json").read_text()

    name = f"tongxin_keys_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with fresh_database(pg_server, name) as url:
        other = _b64(secrets.token_bytes(32))
        wrong = _production_like(tmp_path / "wrong", audit_key=other)
        with pytest.raises(OpsError) as refused:
            restore(wrong, url, tmp_path / "backup")
        assert refused.value.exit_code == 2
        assert "the configured audit key is not the one of the backup" in str(refused.value)

        unset = Settings.from_env(var_dir=tmp_path / "unset")
        with pytest.raises(OpsError, match="came from TONGXIN_AUDIT_KEY, which is not set here"):
            restore(unset, url, tmp_path / "backup")
        assert not (tmp_path / "unset" / "keys").exists()  # no key was made up meanwhile

        done = restore(_production_like(tmp_path / "right"), url, tmp_path / "backup")
        assert done.files == len(manifest["files"])
