"""Character folding shared by the privacy helpers (internal)."""

from __future__ import annotations

FULLWIDTH_OFFSET = 0xFEE0

# Characters that people put between digits of an ID or phone number.
DIGIT_SEPARATORS = frozenset(
    " \t\u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\uff0d.\u00b7()（）"
)

# Characters dropped when comparing free text with stored values.
INVISIBLE = frozenset(" \t\r\n\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff")


def fold_char(ch: str) -> str:
    """Map one full-width ASCII character (U+FF01–U+FF5E) to ASCII, U+3000 to a space."""
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - FULLWIDTH_OFFSET)
    if code == 0x3000:
        return " "
    return ch


def fold(text: str) -> str:
    """Fold full-width ASCII to ASCII, character by character (lengths are preserved)."""
    return "".join(fold_char(ch) for ch in text)


def compact(text: str) -> tuple[str, list[int]]:
    """Fold, lower-case and drop invisible characters and separators.

    Returns the compacted string and, for every character of it, its index in ``text``.
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in INVISIBLE:
            continue
        folded = fold_char(ch)
        if folded in INVISIBLE or folded in "-_·•・":
            continue
        out.append(folded.lower())
        index.append(i)
    return "".join(out), index


def compact_value(value: str) -> str:
    """The compacted form of a stored value (same rules as :func:`compact`)."""
    return compact(value)[0]
