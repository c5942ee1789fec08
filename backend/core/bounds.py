"""Input bounds shared by every form, JSON body and query parameter (issue 15 point 4).

Every string has a maximum length, every list a maximum size, every integer a range PostgreSQL
can store, pages a maximum; NUL and other control characters (except tab, CR and LF in
multi-line text) are refused. What breaks a bound answers 422 with the field marked, never 500.
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar.params import QueryParameter
from msgspec import Meta

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


# msgspec field types for JSON bodies: the bound is part of the type and of the OpenAPI schema.
_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_NO_CONTROL_LINE = r"^[^\x00-\x1f\x7f]*$"
Code = Annotated[str, Meta(max_length=32, pattern=_NO_CONTROL_LINE)]
RegionCode = Annotated[str, Meta(max_length=12, pattern=r"^[0-9]*$")]
Title = Annotated[str, Meta(max_length=TITLE_MAX, pattern=_NO_CONTROL_LINE)]
ShortText = Annotated[str, Meta(max_length=SHORT_TEXT_MAX, pattern=_NO_CONTROL_LINE)]
Text = Annotated[str, Meta(max_length=TEXT_MAX, pattern=_NO_CONTROL)]
Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX, pattern=_NO_CONTROL)]
Unit = Annotated[str, Meta(max_length=16, pattern=_NO_CONTROL_LINE)]
Quantity = Annotated[int, Meta(ge=0, le=QUANTITY_MAX)]
AmountFen = Annotated[int, Meta(ge=0, le=AMOUNT_FEN_MAX)]
Count = Annotated[int, Meta(ge=0, le=INT_MAX)]
Age = Annotated[int, Meta(ge=0, le=130)]
Codes = Annotated[list[Code], Meta(max_length=LIST_MAX)]
RegionCodes = Annotated[list[RegionCode], Meta(max_length=SERVICE_AREA_MAX)]
Ages = Annotated[list[Age], Meta(max_length=LIST_MAX)]


# Query parameters: bounded codes and page numbers (validated by Litestar, 422 on failure).
QueryCode = Annotated[str, QueryParameter(max_length=32, pattern=r"^[A-Za-z0-9_.\-]*$")]
QueryPage = Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)]
OptionalQueryCode = Annotated[
    str | None, QueryParameter(max_length=32, pattern=r"^[A-Za-z0-9_.\-]*$")
]
