"""Input bounds shared by every form, JSON body and query parameter (issue 15 point 4).

Every string has a maximum length, every list a maximum size, every integer a range PostgreSQL
can store, pages a maximum; NUL and other control characters (except tab, CR and LF in
multi-line text) are refused. What breaks a bound answers 422 with the field marked, never 500.
"""

from __future__ import annotations

import re

INT_MAX = 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint
AMOUNT_FEN_MAX = 10**12  # ten billion yuan: far beyond any real amount, well inside bigint
QUANTITY_MAX = 1_000_000
PAGE_MAX = 10_000  # a page number beyond this is refused (422)
TITLE_MAX = 120
TEXT_MAX = 4000
DESCRIPTION_MAX = 5000
SHORT_TEXT_MAX = 200
SERVICE_AREA_MAX = 50  # region codes in one service area
LIST_MAX = 50

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def has_control_chars(text: str, *, multiline: bool = True) -> bool:
    """NUL and other C0 controls (DEL too); tab, LF and CR are allowed in multi-line text."""
    return bool((_CONTROL if multiline else _CONTROL_ONE_LINE).search(text))
