"""Blind indexes: find a household by phone or by name without a plaintext column.

* **Phone**: ``households.phone_hash`` is HMAC-SHA256 of the normalized number
  (:func:`backend.privacy.phone.normalize_phone`) under a key of its own.
* **Name**: ``household_name_tokens`` holds one row per household and *token* of the head's
  normalized name: every two-character substring (王秀英 → 王秀, 秀英), or the one character of a
  one-character name. A search for 秀英 or 王秀英 looks up the hashes of its own bigrams and
  keeps the households that hold all of them. Tokens are HMAC-SHA256 under a third key.

The keys are derived from the ID-hash key (as the 幸福码 hash's is): no new secret to manage,
and no hash of one kind can be compared with another kind. What the database alone reveals,
and why that is accepted, is written down in docs/privacy.md ("Searching the registry").
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache

from backend.core.keys import get_keys

MIN_NAME_QUERY = 2
_DROP = frozenset(" \t\u3000·•.-_'’")


@lru_cache(maxsize=4)
def _key(purpose: str, id_hash_key: bytes) -> bytes:
    return hmac.new(
        id_hash_key, f"tongxin/household-{purpose}/v1".encode(), hashlib.sha256
    ).digest()


def _hmac(purpose: str, value: str) -> str:
    key = _key(purpose, get_keys().id_hash)
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def phone_hash(normalized_phone: str) -> str:
    """The phone's blind index ("" for no phone, stored as NULL)."""
    return _hmac("phone", normalized_phone) if normalized_phone else ""


def normalize_name(name: str) -> str:
    """NFKC (full-width letters to ASCII), case folded, spaces and name separators removed."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch not in _DROP and not ch.isspace())


def name_tokens(name: str) -> set[str]:
    """Every two-character substring of the normalized name (the name itself if shorter)."""
    norm = normalize_name(name)
    if len(norm) < MIN_NAME_QUERY:
        return {norm} if norm else set()
    return {norm[i : i + 2] for i in range(len(norm) - 1)}


def name_token_hashes(name: str) -> list[str]:
    """The rows to store for a head's name (sorted, no duplicates)."""
    return sorted(_hmac("name", token) for token in name_tokens(name))


def name_query_hashes(query: str) -> list[str] | None:
    """The hashes a name search must all match; None when the query is too short to search
    (one character would list every household sharing a common surname)."""
    if len(normalize_name(query)) < MIN_NAME_QUERY:
        return None
    return name_token_hashes(query)
