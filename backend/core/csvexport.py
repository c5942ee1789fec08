"""Every CSV export of the app writes through this module (issue 15 point 6, issue 19 point 6).

What a spreadsheet user gets, in Excel as in WPS:

* **UTF-8 with a byte-order mark**: without it Excel (and WPS on Windows) reads the file as
  GBK/ANSI and Chinese text turns into mojibake.
* **One header row, in the user's language**: the caller passes message ids marked ``N_()``;
  :func:`header` translates them for the request's locale. Cells hold labels (translated
  category and entry-type names, ¥ amounts as yuan with two decimals, Shanghai times), never
  codes, UUIDs or fen.
* **No formulas**: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  is read as a formula by Excel, WPS and LibreOffice (``=HYPERLINK(…)`` leaks data when clicked);
  such text cells get a leading apostrophe. Plain numbers (``-12.50``) stay numbers.
* **CRLF line ends** (the csv module's default dialect), which every spreadsheet expects.

Exports stream: :func:`csv_stream` yields the body in chunks of rows (an async source is read
batch by batch, so a large export never sits in memory whole), and :func:`csv_response` wraps
it in a download response that is never cached.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from typing import Any, Protocol

from litestar.response import Stream

from backend.core.i18n import get_translations

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
CHUNK_ROWS = 500
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_FILENAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")

Row = Sequence[Any]


def safe_cell(value: Any) -> Any:
    """The cell as a spreadsheet may read it: a formula-like text gets a leading apostrophe."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER.match(value):
        return "'" + value
    return value


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any]) -> Any: ...


class SafeWriter:
    """A ``csv.writer`` whose every text cell goes through :func:`safe_cell`."""

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


def header(labels: Sequence[str], locale: str) -> list[str]:
    """The header row: each ``N_()`` message id translated for ``locale``."""
    translations = get_translations(locale)
    return [translations.gettext(label) for label in labels]


def yuan(amount_fen: int) -> str:
    """Integer fen as yuan with two decimals (``-1234.50``), a number a spreadsheet can sum."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(int(amount_fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


def _encode(rows: Iterable[Row], *, first: bool) -> str:
    out = io.StringIO()
    if first:
        out.write(BOM)
    safe_writer(out).writerows(rows)
    return out.getvalue()


def csv_text(head: Row, rows: Iterable[Row]) -> str:
    """The whole file as one string (BOM, header, rows): for small exports and tests."""
    return _encode([head, *rows], first=True)


def csv_stream(head: Row, rows: Iterable[Row], *, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The file in UTF-8 chunks: the BOM and the header first, then ``chunk_rows`` rows each."""
    yield _encode([head], first=True).encode()
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk_rows:
            yield _encode(batch, first=False).encode()
            batch = []
    if batch:
        yield _encode(batch, first=False).encode()


async def csv_stream_async(
    head: Row, batches: AsyncIterable[Sequence[Row]]
) -> AsyncIterator[bytes]:
    """The same from an async source of row batches (a keyset walk over a large table)."""
    yield _encode([head], first=True).encode()
    async for batch in batches:
        if batch:
            yield _encode(batch, first=False).encode()


def csv_response(
    filename: str, body: Iterator[bytes] | AsyncIterator[bytes], *, inline: bool = False
) -> Stream:
    """A streamed CSV download (``filename``: ASCII letters, digits, ``._-``), never cached."""
    if not _FILENAME.match(filename):
        raise ValueError(f"unsafe CSV file name: {filename!r}")
    disposition = "inline" if inline else "attachment"
    return Stream(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "content-disposition": f'{disposition}; filename="{filename}"',
            "cache-control": "private, no-store",
            "x-content-type-options": "nosniff",
        },
    )
