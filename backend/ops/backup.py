"""``tongxin backup DIR`` and ``tongxin restore DIR [--force]``.

A backup is one directory::

    DIR/manifest.json      versions, time, database facts, keys, and every file with its sha256
    DIR/database.dump      pg_dump --format=custom (one consistent snapshot)
    DIR/uploads/...        the uploaded files (photos, receipts, lists) of the local storage
    DIR/keys/*.key         the key files under var/keys (the embedded footprint's keys)

Keys configured through the environment (production) are not copied: the manifest records a
fingerprint of each (a SHA-256 of the key, which reveals nothing about it) and ``restore``
refuses to run when the configured keys do not match the ones the data was written with.

``restore`` checks every checksum first, then refuses, before changing anything, to overwrite
a database that has tables, an uploads directory that has files or key files that differ,
unless ``--force`` is given (old uploads and key files are then moved aside, not deleted). The
dump is restored in one transaction (all or nothing) with ``pg_restore --no-owner --no-acl``;
re-apply the application role's grants afterwards (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from backend.config import Settings
from backend.core.db import asyncpg_url
from backend.core.keys import Keys, _decode, load_keys
from backend.ops import OpsError, pgtools
from backend.privacy.crypto import KeyFileError

MANIFEST = "manifest.json"
DUMP = "database.dump"
FORMAT = 1
_CHUNK = 1 << 20


# ---------------------------------------------------------------- the database


@dataclass(frozen=True)
class DatabaseFacts:
    name: str
    server_version: str
    server_major: int
    tables: int
    revisions: list[str]
    audit_seq: int | None
    audit_hash: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "server_version": self.server_version,
            "server_major": self.server_major,
            "tables": self.tables,
            "alembic_revisions": self.revisions,
            "audit_head": None
            if self.audit_seq is None
            else {"seq": self.audit_seq, "hash": self.audit_hash},
        }


@asynccontextmanager
async def _connect(database_url: str) -> AsyncIterator[AsyncConnection]:
    """One connection in autocommit mode (catalog reads; the --force schema reset)."""
    engine = create_async_engine(asyncpg_url(database_url), poolclass=NullPool)
    try:
        try:
            conn = await engine.connect()
        except (OSError, DBAPIError) as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            raise OpsError(f"cannot connect to the database: {cause}", exit_code=3) from exc
        try:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        finally:
            await conn.close()
    finally:
        await engine.dispose()


async def _facts(database_url: str) -> DatabaseFacts:
    async with _connect(database_url) as conn:

        async def value(sql: str) -> Any:
            return (await conn.execute(text(sql))).scalar()

        name = await value("SELECT current_database()")
        version = await value("SHOW server_version")
        number = int(await value("SHOW server_version_num"))
        tables = int(
            await value(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
            )
        )
        revisions: list[str] = []
        seq = digest = None
        if await value("SELECT to_regclass('public.alembic_version') IS NOT NULL"):
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            revisions = sorted(str(r[0]) for r in rows)
        if await value("SELECT to_regclass('public.audit_chain') IS NOT NULL"):
            row = (
                await conn.execute(
                    text("SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
                )
            ).first()
            if row is not None:
                seq, digest = int(row[0]), str(row[1])
    return DatabaseFacts(
        name=str(name),
        server_version=str(version).split(" ")[0],
        server_major=number // 10000,
        tables=tables,
        revisions=revisions,
        audit_seq=seq,
        audit_hash=digest,
    )


async def _audit_hash_at(database_url: str, seq: int) -> str | None:
    async with _connect(database_url) as conn:
        found = await conn.execute(
            text("SELECT hash FROM audit_chain WHERE seq = :seq"), {"seq": seq}
        )
        value = found.scalar()
    return None if value is None else str(value)


async def _audit_key_signs_entries(database_url: str, key: bytes) -> None:
    """The audit key signs the newest audit entry (sealed or not): the keys are this database's."""
    from backend.audit.service import key_signs_newest_entry

    engine = create_async_engine(asyncpg_url(database_url), poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session, session.begin():
            signs = await key_signs_newest_entry(session, key)
    finally:
        await engine.dispose()
    if signs is False:
        raise OpsError(
            "the audit key does not sign the database's newest audit entry: these are "
            "not the keys this database was written with"
        )


async def _audit_key_signs(database_url: str, key: bytes, seq: int) -> None:
    """The audit key verifies the chain's last row: the keys belong to this database."""
    from backend.audit.service import verify

    engine = create_async_engine(asyncpg_url(database_url), poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session, session.begin():
            result = await verify(session, key=key, from_seq=seq, to_seq=seq, stale_after=None)
    finally:
        await engine.dispose()
    if not result.ok:
        raise OpsError(
            f"the audit key does not verify the database's last audit row ({result.reason}): "
            "these are not the keys this database was written with"
        )


async def _empty_public_schema(database_url: str) -> None:
    """``--force``: drop everything in ``public`` (the dump recreates it)."""
    async with _connect(database_url) as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


# ---------------------------------------------------------------- files and keys


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(key: bytes) -> str:
    """Identifies a key without revealing it (SHA-256 of a 32-byte random key)."""
    return hashlib.sha256(b"tongxin key fingerprint\x00" + key).hexdigest()[:32]


def _key_table(settings: Settings, keys: Keys) -> dict[str, dict[str, str]]:
    """Each key with its fingerprint and where it comes from (a var/keys file or a variable)."""

    def source(value: str | None, file: str, variable: str) -> dict[str, str]:
        if value:
            return {"source": "environment", "variable": variable}
        return {"source": "file", "file": f"keys/{file}"}

    table = {
        "session": {
            **source(settings.secret_key, "session.key", "TONGXIN_SECRET_KEY"),
            "fingerprint": fingerprint(keys.session),
        },
        "audit": {
            **source(settings.audit_key, "audit.key", "TONGXIN_AUDIT_KEY"),
            "fingerprint": fingerprint(keys.audit),
        },
        "id_hash": {
            **source(settings.id_hash_key, "id_hash.key", "TONGXIN_ID_HASH_KEY"),
            "fingerprint": fingerprint(keys.id_hash),
        },
    }
    for key_id, key in keys.encryption.items():
        table[f"encryption:{key_id}"] = {
            **source(settings.encryption_keys, "encryption.key", "TONGXIN_ENCRYPTION_KEYS"),
            "fingerprint": fingerprint(key),
        }
    return table


def _existing_keys(settings: Settings) -> Keys:
    """The configured keys; a missing key file is an error here, never a new random key."""
    table = {
        "session.key": settings.secret_key,
        "audit.key": settings.audit_key,
        "id_hash.key": settings.id_hash_key,
        "encryption.key": settings.encryption_keys,
    }
    missing = [
        name
        for name, value in table.items()
        if not value and not (settings.var_dir / "keys" / name).is_file()
    ]
    if missing:
        raise OpsError(
            f"no {', '.join(missing)} under {settings.var_dir / 'keys'}: run this where the app "
            "runs (its TONGXIN_VAR_DIR) or set the key variables (docs/operations.md)",
            exit_code=2,
        )
    try:
        return load_keys(settings)
    except KeyFileError as exc:
        raise OpsError(f"cannot read the keys: {exc}", exit_code=2) from exc


def _uploads_dir(settings: Settings) -> Path:
    return settings.var_dir / "uploads"


def _s3_bucket() -> str | None:
    return os.environ.get("TONGXIN_UPLOADS_S3_BUCKET") or None


def _copy_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.endswith(".tmp"):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)


def _has_files(directory: Path) -> bool:
    return directory.is_dir() and any(p.is_file() for p in directory.rglob("*"))


def _version() -> str:
    try:
        return metadata.version("tongxin")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        return "unknown"


# ---------------------------------------------------------------- backup


@dataclass
class BackupResult:
    directory: Path
    manifest: dict[str, Any]
    seconds: float

    def line(self) -> str:
        files = self.manifest["files"]
        size = sum(f["bytes"] for f in files)
        head = self.manifest["database"]["audit_head"]
        return (
            f"backup: {self.directory} — database {self.manifest['database']['name']} "
            f"(PostgreSQL {self.manifest['database']['server_version']}, "
            f"audit log up to row {head['seq'] if head else 0}), {len(files)} files, "
            f"{size / 1e6:.1f} MB, {self.seconds:.1f}s"
        )


def backup(settings: Settings, database_url: str, directory: Path) -> BackupResult:
    started = time.perf_counter()
    directory = directory.resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise OpsError(f"{directory} exists and is not an empty directory", exit_code=2)
    facts = asyncio.run(_facts(database_url))
    if not facts.revisions:
        raise OpsError(f"database {facts.name} has no Tongxin schema (no alembic_version)")
    keys = _existing_keys(settings)
    if facts.audit_seq is not None:
        asyncio.run(_audit_key_signs(database_url, keys.audit, facts.audit_seq))
    asyncio.run(_audit_key_signs_entries(database_url, keys.audit))  # entries not yet sealed too
    pg_dump = pgtools.pick("pg_dump", at_least=facts.server_major, prefer=facts.server_major)

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    pgtools.run(
        pg_dump,
        ["--format=custom", "--no-password", f"--file={directory / DUMP}"],
        database_url,
    )
    # Files after the dump: every file a dumped row names was already written (files are added
    # and deleted, never changed), so the backup has all of them.
    bucket = _s3_bucket()
    uploads: dict[str, Any]
    if bucket:
        uploads = {"storage": "s3", "bucket": bucket, "copied": False}
    else:
        source = _uploads_dir(settings)
        if source.is_dir():
            _copy_tree(source, directory / "uploads")
        uploads = {"storage": "local", "copied": True}
    key_table = _key_table(settings, keys)
    for entry in key_table.values():
        if entry["source"] == "file":
            src = settings.var_dir / entry["file"]
            dest = directory / entry["file"]
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(src, dest)
            os.chmod(dest, 0o600)

    files = [
        {"path": str(p.relative_to(directory)), "bytes": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    ]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tongxin_version": _version(),
        "pg_dump": {"path": str(pg_dump.path), "version": pg_dump.version},
        "database": facts.as_dict(),
        "dump": DUMP,
        "uploads": uploads,
        "keys": key_table,
        "files": files,
    }
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(directory / MANIFEST)
    return BackupResult(directory, manifest, time.perf_counter() - started)


# ---------------------------------------------------------------- restore


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise OpsError(f"{directory} is not a Tongxin backup (no {MANIFEST})", exit_code=2)
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise OpsError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise OpsError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def verify_files(directory: Path, manifest: dict[str, Any]) -> int:
    """Check every listed file's size and sha256; raise on the first difference."""
    bad = []
    for entry in manifest["files"]:
        path = directory / entry["path"]
        if not path.is_file():
            bad.append(f"{entry['path']} is missing")
        elif path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
            bad.append(f"{entry['path']} does not match its checksum")
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise OpsError("the backup is damaged: " + "; ".join(bad[:3]) + more)
    return len(manifest["files"])


@dataclass
class RestorePlan:
    """What restore would overwrite; each entry refuses the restore unless --force."""

    conflicts: list[str] = field(default_factory=list)
    key_files: list[tuple[Path, Path]] = field(default_factory=list)  # backup → var/keys


def _plan(
    settings: Settings, directory: Path, manifest: dict[str, Any], target: DatabaseFacts
) -> RestorePlan:
    plan = RestorePlan()
    if target.tables:
        plan.conflicts.append(f"database {target.name} is not empty ({target.tables} tables)")
    if manifest["uploads"].get("copied") and _has_files(_uploads_dir(settings)):
        plan.conflicts.append(f"{_uploads_dir(settings)} has files")
    configured = _environment_fingerprints(settings)
    for name, entry in manifest["keys"].items():
        if entry["source"] == "file":
            src, dest = directory / entry["file"], settings.var_dir / entry["file"]
            if (src, dest) not in plan.key_files:
                plan.key_files.append((src, dest))
            if dest.exists() and dest.read_bytes() != src.read_bytes():
                plan.conflicts.append(f"key file {dest} differs from the backup's")
        if name in configured and configured[name] != entry["fingerprint"]:
            plan.conflicts.append(f"the configured {name} key is not the one of the backup")
        elif name not in configured and entry["source"] == "environment":
            plan.conflicts.append(
                f"the backup's {name} key came from {entry['variable']}, which is not set here"
            )
    return plan


def _environment_fingerprints(settings: Settings) -> dict[str, str]:
    """Fingerprints of the keys set through the environment (key files are not read here)."""
    try:
        found = {
            name: fingerprint(_decode(value))
            for name, value in (
                ("session", settings.secret_key),
                ("audit", settings.audit_key),
                ("id_hash", settings.id_hash_key),
            )
            if value
        }
        for item in (settings.encryption_keys or "").split(","):
            if item:
                key_id, value = item.split(":", 1)
                found[f"encryption:{key_id}"] = fingerprint(_decode(value))
    except (KeyFileError, ValueError) as exc:
        raise OpsError(f"a configured key is malformed: {exc}") from exc
    return found


def _move_aside(path: Path, stamp: str) -> Path:
    aside = path.with_name(f"{path.name}.before-restore-{stamp}")
    path.replace(aside)
    return aside


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    files: int
    moved_aside: list[Path]
    seconds: float

    def line(self) -> str:
        db = self.manifest["database"]
        head = db["audit_head"]
        aside = (
            f"; kept the old files as {', '.join(p.name for p in self.moved_aside)}"
            if (self.moved_aside)
            else ""
        )
        return (
            f"restore: database {db['name']} of {self.manifest['created_at']} "
            f"(audit log up to row {head['seq'] if head else 0}), {self.files} files checked, "
            f"{self.seconds:.1f}s{aside}"
        )


def restore(
    settings: Settings, database_url: str, directory: Path, *, force: bool = False
) -> RestoreResult:
    started = time.perf_counter()
    directory = directory.resolve()
    manifest = read_manifest(directory)
    checked = verify_files(directory, manifest)
    source = manifest["database"]
    target = asyncio.run(_facts(database_url))
    if target.server_major < source["server_major"]:
        raise OpsError(
            f"the backup comes from PostgreSQL {source['server_version']}; it cannot be restored "
            f"into the older PostgreSQL {target.server_version}"
        )
    dump_major = int(str(manifest["pg_dump"]["version"]).split(".")[0])
    pg_restore = pgtools.pick("pg_restore", at_least=dump_major, prefer=target.server_major)
    plan = _plan(settings, directory, manifest, target)
    if plan.conflicts and not force:
        raise OpsError(
            "restore refused: " + "; ".join(plan.conflicts) + " (--force replaces them)",
            exit_code=2,
        )

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    moved: list[Path] = []
    if target.tables:
        asyncio.run(_empty_public_schema(database_url))
    pgtools.run(
        pg_restore,
        [
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            str(directory / manifest["dump"]),
        ],
        database_url,
    )
    if manifest["uploads"].get("copied"):
        uploads = _uploads_dir(settings)
        if uploads.exists() and _has_files(uploads):
            moved.append(_move_aside(uploads, stamp))
        if (directory / "uploads").is_dir():
            _copy_tree(directory / "uploads", uploads)
        uploads.mkdir(parents=True, exist_ok=True)
    for src, dest in plan.key_files:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if dest.exists() and dest.read_bytes() != src.read_bytes():
            moved.append(_move_aside(dest, stamp))
        tmp = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o600)
        tmp.replace(dest)

    restored = asyncio.run(_facts(database_url))
    if restored.revisions != source["alembic_revisions"]:
        raise OpsError(
            f"restored schema revisions {restored.revisions} differ from the backup's "
            f"{source['alembic_revisions']}"
        )
    head = source["audit_head"]
    if head is not None:
        if asyncio.run(_audit_hash_at(database_url, head["seq"])) != head["hash"]:
            raise OpsError(f"the restored audit log lacks the backup's last row {head['seq']}")
        asyncio.run(_audit_key_signs(database_url, _existing_keys(settings).audit, head["seq"]))
    return RestoreResult(manifest, checked, moved, time.perf_counter() - started)
