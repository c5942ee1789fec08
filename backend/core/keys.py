"""Secret keys: from settings in production, generated under ``var/keys`` (mode 0600) embedded.

Keys never go into the database. ``get_keys()`` reads them on first use, not at import.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

from backend.config import Settings, get_settings
from backend.privacy.crypto import KeyFileError, load_or_create_key_file


def _decode(value: str) -> bytes:
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(raw) != 32:
        raise KeyFileError("keys are 32 bytes, base64url-encoded")
    return raw


@dataclass(frozen=True)
class Keys:
    session: bytes
    audit: bytes
    id_hash: bytes
    encryption: dict[str, bytes]
    current_encryption_id: str


def load_keys(settings: Settings) -> Keys:
    """Production passes keys through settings; the embedded footprint keeps files in var/keys."""
    key_dir = settings.var_dir / "keys"
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def pick(value: str | None, name: str, env: str) -> bytes:
        if value:
            return _decode(value)
        if settings.environment == "production":
            raise KeyFileError(f"production needs {env} (docs/operations.md)")
        return load_or_create_key_file(key_dir / f"{name}.key")

    if settings.encryption_keys:
        # "id1:base64,id2:base64" — the first one encrypts, all of them decrypt (rotation).
        pairs = [item.split(":", 1) for item in settings.encryption_keys.split(",") if item]
        encryption = {key_id: _decode(value) for key_id, value in pairs}
        current = pairs[0][0]
    elif settings.environment == "production":
        raise KeyFileError("production needs TONGXIN_ENCRYPTION_KEYS (docs/operations.md)")
    else:
        encryption = {"k1": load_or_create_key_file(key_dir / "encryption.key")}
        current = "k1"
    return Keys(
        session=pick(settings.secret_key, "session", "TONGXIN_SECRET_KEY"),
        audit=pick(settings.audit_key, "audit", "TONGXIN_AUDIT_KEY"),
        id_hash=pick(settings.id_hash_key, "id_hash", "TONGXIN_ID_HASH_KEY"),
        encryption=encryption,
        current_encryption_id=current,
    )


@lru_cache(maxsize=1)
def get_keys() -> Keys:
    return load_keys(get_settings())
