"""Display masking of personal data for caseworker screens and audit excerpts."""

from __future__ import annotations

from backend.privacy._text import compact_value
from backend.privacy.address import parse_address
from backend.privacy.idcard import normalize_id
from backend.privacy.phone import LANDLINE_RE, MOBILE_RE, normalize_phone

COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 "
    "南宫 西门 独孤 端木 呼延 澹台 公冶 太史 申屠 闻人 万俟 赫连 拓跋 百里 东郭".split()
)


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
