"""Field-level encryption (AES-256-GCM with key ids) and keyed hashing of ID numbers.

Blob format (version 1)::

    0x01 | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 bytes) | ciphertext + 16-byte tag

The associated data is the header (version, key id) followed by the UTF-8 ``context`` (for
example ``"households.head_name"``), so a blob copied to another column or with an altered
header fails to decrypt. The database stores blobs as BYTEA; services call the cipher.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.privacy.idcard import normalize_id

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_HASH_KEY_BYTES = 16


class DecryptionError(ValueError):
    """The blob is malformed, uses an unknown key, or fails authentication."""


class KeyFileError(RuntimeError):
    """A key file is unsafe (readable by group/others) or malformed."""


def _check_key_id(key_id: str) -> bytes:
    raw = key_id.encode("ascii", errors="strict") if key_id.isascii() else b""
    if not 1 <= len(raw) <= 255 or not key_id.isprintable():
        raise ValueError(f"key id must be 1-255 printable ASCII characters: {key_id!r}")
    return raw


class FieldCipher:
    """AES-256-GCM encryption of single text fields, with key rotation.

    ``keys`` maps key ids to 32-byte keys; new blobs use ``current_key_id``; old blobs decrypt
    with whatever key id they name, as long as that key is still in ``keys``.
    """

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in keys:
            raise ValueError(f"current key id {current_key_id!r} is not among the keys")
        self._aead: dict[str, AESGCM] = {}
        for key_id, key in keys.items():
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes, got {len(key)}")
            self._aead[key_id] = AESGCM(bytes(key))
        self._current = current_key_id

    @property
    def current_key_id(self) -> str:
        return self._current

    @staticmethod
    def _header(key_id: str) -> bytes:
        raw = _check_key_id(key_id)
        return bytes((VERSION, len(raw))) + raw

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        header = self._header(self._current)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[self._current].encrypt(
            nonce, plaintext.encode("utf-8"), header + context.encode("utf-8")
        )
        return header + nonce + sealed

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        """The key id a blob was encrypted with (``DecryptionError`` if malformed)."""
        return FieldCipher._parse(blob)[0]

    @staticmethod
    def _parse(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
        if len(blob) < 2 or blob[0] != VERSION:
            raise DecryptionError("unknown blob version or empty blob")
        n = blob[1]
        if n == 0 or len(blob) < 2 + n + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("truncated blob")
        try:
            key_id = blob[2 : 2 + n].decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecryptionError("malformed key id") from exc
        header = blob[: 2 + n]
        nonce = blob[2 + n : 2 + n + NONCE_BYTES]
        return key_id, header, nonce, blob[2 + n + NONCE_BYTES :]

    def decrypt(self, blob: bytes, *, context: str) -> str:
        key_id, header, nonce, sealed = self._parse(bytes(blob))
        aead = self._aead.get(key_id)
        if aead is None:
            raise DecryptionError(f"unknown key id {key_id!r}")
        try:
            plain = aead.decrypt(nonce, sealed, header + context.encode("utf-8"))
        except InvalidTag as exc:
            raise DecryptionError("authentication failed (tampered blob or wrong context)") from exc
        return plain.decode("utf-8")

    def needs_rotation(self, blob: bytes) -> bool:
        return self.key_id_of(blob) != self._current

    def rotate(self, blob: bytes, context: str) -> bytes:
        """Decrypt with the blob's key and re-encrypt with the current key (fresh nonce)."""
        return self.encrypt(self.decrypt(blob, context=context), context=context)


def keyed_hash(value: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalized ID number, for duplicate-registration checks.

    ``"11010519491231002x"`` and ``"110105 19491231 002X"`` hash identically.
    """
    if len(key) < MIN_HASH_KEY_BYTES:
        raise ValueError(f"hash key must be at least {MIN_HASH_KEY_BYTES} bytes")
    return hmac.new(key, normalize_id(value).encode("ascii", "replace"), hashlib.sha256).hexdigest()


def load_or_create_key_file(path: str | os.PathLike[str]) -> bytes:
    """Read a 32-byte key (URL-safe base64 text) from ``path``, creating it if missing.

    A new file is created atomically with mode 0600. An existing file that group or others can
    read or write is refused with :class:`KeyFileError` (fix with ``chmod 600``).
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        key = secrets.token_bytes(KEY_BYTES)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(base64.urlsafe_b64encode(key) + b"\n")
        return key
    mode = stat.S_IMODE(p.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"key file {p} has mode {mode:04o}: it must not be accessible to group or others; "
            f"run `chmod 600 {p}`"
        )
    try:
        key = base64.urlsafe_b64decode(p.read_bytes().strip())
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError(f"key file {p} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"key file {p} holds {len(key)} bytes, expected {KEY_BYTES}")
    return key
