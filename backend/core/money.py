"""Money typed by people: yuan with at most two decimals ("1,200.50", "¥1200.5", "300 元")
becomes integer fen; fen is shown back in a form as plain yuan. Never a float."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^\s*[¥￥]?\s*(\d{1,12})(?:\.(\d{1,2}))?\s*(?:元)?\s*$")


def yuan_to_fen(text: str) -> int | None:
    """ "1,200.50" / "¥1200.5" → 120050 fen; None when it is not an amount of yuan."""
    match = _YUAN.match(text.replace(",", "").replace("，", ""))
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def fen_to_yuan(fen: int) -> str:
    """1200050 → "12000.50" (what a form shows back)."""
    return f"{fen // 100}.{fen % 100:02d}"
