"""GB 32100-2015 unified social credit codes (统一社会信用代码) of organisations."""

from __future__ import annotations

import re

from backend.privacy._text import fold

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}
_STRIP = re.compile(r"[\s\-\u2010-\u2015]")


def normalize_uscc(s: str) -> str:
    """Full-width to ASCII, drop spaces and hyphens, upper-case."""
    return _STRIP.sub("", fold(s)).upper()


def uscc_check_char(prefix17: str) -> str:
    """The 18th character for a 17-character prefix (check = 31 − sum mod 31; 31 → 0)."""
    p = normalize_uscc(prefix17)
    if len(p) != 17 or any(ch not in _VALUE for ch in p):
        raise ValueError("need 17 characters from the USCC character set")
    total = sum(_VALUE[ch] * w for ch, w in zip(p, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """True when ``s`` is 18 characters of the USCC alphabet with a correct check character."""
    n = normalize_uscc(s)
    if len(n) != 18 or any(ch not in _VALUE for ch in n):
        return False
    return uscc_check_char(n[:17]) == n[17]


def make_fake_uscc(prefix17: str) -> str:
    """Append the check character to a 17-character prefix."""
    p = normalize_uscc(prefix17)
    return p + uscc_check_char(p)
