"""The household's 幸福码 in a form people can read aloud and type.

``ABCD-EFGH-JKLM-X``: 12 random Crockford base-32 characters (60 bits) in three groups of
four, then one check character. The alphabet has no I, L, O or U; on input ``I``/``L`` read as
``1`` and ``O`` as ``0``, case does not matter, and spaces, hyphens, dots and full-width forms
(a Chinese input method) are ignored.

The check character is a weighted sum in GF(32): ``Σ αⁱ⁺¹ · vᵢ`` with α a primitive element
(polynomial x⁵ + x² + 1). Any single wrong character changes the sum, and so does swapping any
two different characters (αⁱ ≠ αʲ for i ≠ j < 31): every one-character typo and every
transposition is caught before the code is looked up.

Only a keyed hash of the 12 data characters is stored (HMAC-SHA256 under a key derived from
the ID-hash key, see :func:`code_hash`): the database alone does not give the code back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from functools import lru_cache

from backend.core.keys import get_keys
from backend.privacy.crypto import keyed_hash

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 12
LENGTH = DATA_LENGTH + 1
GROUP = 4
_VALUE = {ch: n for n, ch in enumerate(ALPHABET)}
_VALUE.update({"I": 1, "L": 1, "O": 0})
_SEPARATORS = re.compile(r"[\s\-_.·•/,:]+")
_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


class CodeFormatError(ValueError):
    """A typed code that cannot be right. ``reason`` is ``empty``, ``length``, ``chars`` or
    ``check`` (a typo caught by the check character)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return out


def _alpha_powers() -> list[int]:
    powers, x = [], 1
    for _ in range(DATA_LENGTH + 1):
        powers.append(x)
        x = _mul(x, 2)  # α = x
    return powers


_ALPHA = _alpha_powers()


def check_char(data: str) -> str:
    """The check character of 12 normalized data characters."""
    total = 0
    for i, ch in enumerate(data):
        total ^= _mul(_ALPHA[i + 1], _VALUE[ch])
    return ALPHABET[total]


def generate() -> str:
    """A new random code, normalized (13 characters, no separators)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_char(data)


def with_check(data: str) -> str:
    """``data`` (12 characters, any accepted spelling) with its check character appended."""
    clean = _fold(data)
    if len(clean) != DATA_LENGTH or any(ch not in _VALUE for ch in clean):
        raise CodeFormatError("length")
    canonical = "".join(ALPHABET[_VALUE[ch]] for ch in clean)
    return canonical + check_char(canonical)


def _fold(raw: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or "")).upper()


def normalize(raw: str) -> str:
    """The canonical 13 characters of a typed or scanned code; raises :class:`CodeFormatError`.

    A whole URL from the QR code is accepted too (the code is after ``#`` or ``/code/``).
    """
    text = (raw or "").strip()
    for marker in ("#", "/code/"):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = text.split("?", 1)[0]
    clean = _fold(text)
    if not clean:
        raise CodeFormatError("empty")
    if len(clean) != LENGTH:
        raise CodeFormatError("length")
    if any(ch not in _VALUE for ch in clean):
        raise CodeFormatError("chars")
    canonical = "".join(ALPHABET[_VALUE[ch]] for ch in clean)
    if check_char(canonical[:DATA_LENGTH]) != canonical[DATA_LENGTH]:
        raise CodeFormatError("check")
    return canonical


def groups(code: str) -> list[str]:
    """``ABCDEFGHJKLMX`` → ``["ABCD", "EFGH", "JKLM", "X"]``."""
    return [code[i : i + GROUP] for i in range(0, len(code), GROUP)]


def display(code: str) -> str:
    """The printed form, ``ABCD-EFGH-JKLM-X``."""
    return "-".join(groups(code))


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    # A key of its own, derived from the ID-hash key: no new secret to manage, and a code hash
    # can never be compared with an ID-number hash.
    return hmac.new(get_keys().id_hash, b"tongxin/household-code/v1", hashlib.sha256).digest()


def code_hash(code: str) -> str:
    """HMAC-SHA256 (hex) of the normalized code's 12 data characters."""
    return keyed_hash(code[:DATA_LENGTH], _hash_key())
