"""Display masking of personal data for caseworker screens and audit excerpts."""

from __future__ import annotations

from backend.privacy._text import compact_value
from backend.privacy.address import parse_address
from backend.privacy.idcard import normalize_id
from backend.privacy.phone import LANDLINE_RE, MOBILE_RE, normalize_phone

_COMPOUND = (
    "欧阳司马上官诸葛东方皇甫尉迟公孙慕容长孙宇文司徒"
    "夏侯轩辕令狐钟离南宫西门独孤端木呼延澹台公冶太史申屠闻人万俟赫连拓跋百里东郭"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND[i : i + 2] for i in range(0, len(_COMPOUND), 2))


def mask_id(s: str) -> str:
    """Keep the first 6 and last 4 characters: ``"330106********1234"``."""
    n = normalize_id(s)
    if len(n) <= 10:
        return "*" * len(n)
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


def mask_phone(s: str) -> str:
    """``"13812345678"`` → ``"138****5678"``; landline ``"057187654321"`` → ``"0571****4321"``.

    Anything else keeps only its last 4 digits.
    """
    try:
        d = normalize_phone(s)
    except ValueError:
        d = "".join(ch for ch in s if ch.isdigit())
    if MOBILE_RE.fullmatch(d):
        return d[:3] + "****" + d[-4:]
    if LANDLINE_RE.fullmatch(d):
        area = d[:3] if d[1] in "12" else d[:4]
        return area + "****" + d[-4:]
    if len(d) <= 4:
        return "*" * len(d)
    return "*" * (len(d) - 4) + d[-4:]


def mask_name(name: str) -> str:
    """Keep the surname: ``"张三丰"`` → ``"张**"``, ``"欧阳娜娜"`` → ``"欧阳**"``."""
    n = name.strip()
    if len(n) <= 1:
        return "*" * len(n)
    keep = 2 if n[:2] in COMPOUND_SURNAMES and len(n) > 2 else 1
    return n[:keep] + "*" * (len(n) - keep)


def mask_address(addr: str) -> str:
    """Keep the administrative part down to the street/township (or district), mask the rest.

    ``"浙江省杭州市西湖区西溪街道文三路123号"`` → ``"浙江省杭州市西湖区西溪街道***"``.
    An address whose administrative part cannot be recognised is masked entirely.
    """
    parsed = parse_address(compact_value(addr))
    if not parsed.admin:
        return "***"
    return parsed.admin + ("***" if parsed.detail else "")
