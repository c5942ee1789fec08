"""Chinese mobile and landline telephone numbers.

* Mobile: ``1[3-9]`` + 9 digits (11 digits), optionally prefixed by ``+86`` / ``0086`` / ``86``.
* Landline: ``0`` + area code + local number. Two-digit area codes (010 Beijing, 02x) take
  8-digit local numbers; three-digit area codes (03xx–09xx) take 7 or 8 digits. Local numbers
  never start with 0 or 1.

Spaces, hyphens, dots, parentheses and full-width digits are accepted anywhere.
"""

from __future__ import annotations

import re
from typing import Literal

from backend.privacy._text import DIGIT_SEPARATORS, fold

PhoneKind = Literal["mobile", "landline"]

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
MOBILE_WITH_CC_RE = re.compile(r"(?:0086|86)?1[3-9]\d{9}")
LANDLINE_RE = re.compile(r"0(?:10|2\d)[2-9]\d{7}|0[3-9]\d{2}[2-9]\d{6,7}")


def _digits(s: str) -> str:
    folded = fold(s).strip()
    if folded.startswith("+"):
        folded = folded[1:]
    kept = [ch for ch in folded if ch not in DIGIT_SEPARATORS]
    return "".join(kept)


def normalize_phone(s: str) -> str:
    """Digits only; the country code (+86/0086/86) in front of a mobile number is removed.

    Landlines keep their leading ``0`` and area code: ``"(0571) 8765-4321"`` → ``"057187654321"``.
    Raises ``ValueError`` if anything other than digits and separators remains.
    """
    d = _digits(s)
    if not d.isascii() or not d.isdigit():
        raise ValueError("not a telephone number")
    for prefix in ("0086", "86"):
        if d.startswith(prefix) and MOBILE_RE.fullmatch(d[len(prefix) :]):
            return d[len(prefix) :]
    return d


def phone_kind(s: str) -> PhoneKind | None:
    """``"mobile"``, ``"landline"`` or ``None`` for anything else."""
    try:
        d = normalize_phone(s)
    except ValueError:
        return None
    if MOBILE_RE.fullmatch(d):
        return "mobile"
    if LANDLINE_RE.fullmatch(d):
        return "landline"
    return None


def is_mobile(s: str) -> bool:
    return phone_kind(s) == "mobile"


def is_landline(s: str) -> bool:
    return phone_kind(s) == "landline"


def landline_area_code(s: str) -> str:
    """The area code with its leading 0 (``"010"``, ``"0571"``) of a landline number."""
    d = normalize_phone(s)
    if not LANDLINE_RE.fullmatch(d):
        raise ValueError("not a landline number")
    return d[:3] if d[1] in "12" else d[:4]


def classify_digits(digits: str) -> PhoneKind | None:
    """Classify an already-normalized ASCII digit string (country code allowed on mobiles)."""
    if MOBILE_WITH_CC_RE.fullmatch(digits):
        return "mobile"
    if LANDLINE_RE.fullmatch(digits):
        return "landline"
    return None
