"""CSV exports that a spreadsheet cannot turn into formulas (issue 15 point 6).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula
by Excel, WPS and LibreOffice (``=HYPERLINK(…)`` leaks data when clicked). Every such text cell
gets a leading apostrophe; plain numbers (``-12.50``) stay numbers. Every CSV export writes
through :func:`safe_writer`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def safe_cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER.match(value):
        return "'" + value
    return value


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any]) -> Any: ...


class SafeWriter:
    def __init__(self, inner: _Writer) -> None:
        self._inner = inner

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._inner.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(out: Any, **kwargs: Any) -> SafeWriter:
    """``csv.writer(out, **kwargs)`` whose every text cell is escaped."""
    return SafeWriter(csv.writer(out, **kwargs))
