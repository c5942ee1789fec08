"""GB 11643-1999 18-digit resident identity card numbers (公民身份号码).

Layout: 6-digit region code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd for men,
even for women), 1 check character computed with ISO 7064 MOD 11-2.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from backend.privacy._text import fold

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"

# First two digits: province-level codes in use (GB/T 2260), incl. 71 Taiwan, 81/82 HK/MO
# (the mainland-issued residence permit numbers for HK/MO/TW residents use 81, 82, 83).
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

_ID_SHAPE = re.compile(r"\d{17}[\dX]")
_STRIP = re.compile(r"[\s\-\u2010-\u2015]")
EARLIEST_BIRTH = date(1900, 1, 1)


def normalize_id(s: str) -> str:
    """Full-width to ASCII, drop spaces and hyphens, upper-case (trailing ``x`` → ``X``)."""
    return _STRIP.sub("", fold(s)).upper()


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_MAP[total % 11]


def _birth(normalized: str) -> date | None:
    try:
        return date(int(normalized[6:10]), int(normalized[10:12]), int(normalized[12:14]))
    except ValueError:
        return None


def is_valid_id(s: str, *, today: date | None = None) -> bool:
    """True for a well-formed number: shape, province code, plausible birth date, check char.

    The birth date must exist and lie between 1900-01-01 and ``today`` (default: today, UTC).
    """
    n = normalize_id(s)
    if not _ID_SHAPE.fullmatch(n) or n[:2] not in PROVINCE_CODES:
        return False
    birth = _birth(n)
    limit = today if today is not None else datetime.now(UTC).date()
    if birth is None or not EARLIEST_BIRTH <= birth <= limit:
        return False
    return check_char(n[:17]) == n[17]


def id_problem(s: str, *, today: date | None = None) -> str | None:
    """What is wrong with a number, for a message next to the field; None when it is valid.

    ``"length"`` (not 18 characters), ``"format"`` (not 17 digits and a digit or X),
    ``"region"`` (no such province), ``"birth_date"`` (no such date, before 1900 or in the
    future), ``"check_char"`` (the last character does not match the first 17 digits).
    """
    n = normalize_id(s)
    if len(n) != 18:
        return "length"
    if not _ID_SHAPE.fullmatch(n):
        return "format"
    if n[:2] not in PROVINCE_CODES:
        return "region"
    birth = _birth(n)
    limit = today if today is not None else datetime.now(UTC).date()
    if birth is None or not EARLIEST_BIRTH <= birth <= limit:
        return "birth_date"
    if check_char(n[:17]) != n[17]:
        return "check_char"
    return None


def _require_valid(s: str) -> str:
    n = normalize_id(s)
    if not is_valid_id(n):
        raise ValueError("not a valid resident ID number")
    return n


def id_birth_date(s: str) -> date:
    """Birth date encoded in a valid ID number; ``ValueError`` if the number is invalid."""
    birth = _birth(_require_valid(s))
    assert birth is not None
    return birth


def id_region_code(s: str) -> str:
    """The 6-digit region code (registration place) of a valid ID number."""
    return _require_valid(s)[:6]


def make_fake_id(region6: str, birth: date, seq: int) -> str:
    """A checksum-valid number for demo data and tests (``seq`` in 0..999)."""
    if len(region6) != 6 or not region6.isascii() or not region6.isdigit():
        raise ValueError("region6 must be 6 ASCII digits")
    if not 0 <= seq <= 999:
        raise ValueError("seq must be in 0..999")
    first17 = f"{region6}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)
