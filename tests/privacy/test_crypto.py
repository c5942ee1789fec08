import os
import stat
from pathlib import Path

import pytest

from backend.privacy.crypto import (
    DecryptionError,
    FieldCipher,
    KeyFileError,
    keyed_hash,
    load_or_create_key_file,
)

K1 = bytes(range(32))
K2 = bytes(range(32, 64))
CTX = "households.head_name"


def cipher(current: str = "k1") -> FieldCipher:
    return FieldCipher({"k1": K1, "k2": K2}, current)


def test_roundtrip_and_format() -> None:
    c = cipher()
    blob = c.encrypt("张三丰", context=CTX)
    assert blob[0] == 1
    assert blob[1] == 2
    assert blob[2:4] == b"k1"
    assert len(blob) == 2 + 2 + 12 + len("张三丰".encode()) + 16
    assert "张三丰".encode() not in blob
    assert c.decrypt(blob, context=CTX) == "张三丰"
    assert c.encrypt("张三丰", context=CTX) != blob  # fresh nonce


def test_tamper_detected_everywhere() -> None:
    c = cipher()
    blob = c.encrypt("13812345678", context=CTX)
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptionError):
            c.decrypt(bytes(tampered), context=CTX)
    with pytest.raises(DecryptionError):
        c.decrypt(blob[:-1], context=CTX)
    with pytest.raises(DecryptionError):
        c.decrypt(b"", context=CTX)


def test_wrong_context() -> None:
    c = cipher()
    blob = c.encrypt("浙江省杭州市", context="households.address")
    with pytest.raises(DecryptionError):
        c.decrypt(blob, context="households.head_name")


def test_rotation() -> None:
    old = cipher("k1").encrypt("secret", context=CTX)
    new_cipher = cipher("k2")
    assert new_cipher.needs_rotation(old)
    rotated = new_cipher.rotate(old, CTX)
    assert FieldCipher.key_id_of(rotated) == "k2"
    assert not new_cipher.needs_rotation(rotated)
    assert new_cipher.decrypt(rotated, context=CTX) == "secret"
    # once k1 is retired, old blobs fail clearly and rotated ones still work
    only_k2 = FieldCipher({"k2": K2}, "k2")
    with pytest.raises(DecryptionError, match="unknown key id"):
        only_k2.decrypt(old, context=CTX)
    assert only_k2.decrypt(rotated, context=CTX) == "secret"


def test_bad_keys() -> None:
    with pytest.raises(ValueError):
        FieldCipher({"k1": b"short"}, "k1")
    with pytest.raises(ValueError):
        FieldCipher({"k1": K1}, "k2")
    with pytest.raises(ValueError):
        FieldCipher({"": K1}, "")
    with pytest.raises(ValueError):
        FieldCipher({"键": K1}, "键")


def test_keyed_hash_normalizes() -> None:
    key = b"k" * 32
    a = keyed_hash("11010519491231002x", key)
    assert a == keyed_hash("１１０１０５ 1949-1231 002X", key)
    assert len(a) == 64
    assert a != keyed_hash("11010519491231002X", b"j" * 32)
    assert a != keyed_hash("330106199001011230", key)
    with pytest.raises(ValueError):
        keyed_hash("x", b"short")


def test_key_file_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "field.key"
    old_umask = os.umask(0)
    try:
        key = load_or_create_key_file(path)
    finally:
        os.umask(old_umask)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == key


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_readable_by_others_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "field.key"
    load_or_create_key_file(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_key_file(path)


def test_key_file_malformed(tmp_path: Path) -> None:
    path = tmp_path / "field.key"
    path.write_bytes(b"c2hvcnQ=\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="expected 32"):
        load_or_create_key_file(path)
